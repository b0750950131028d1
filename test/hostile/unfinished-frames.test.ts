/**
 * Unfinished frames: a peer dripping a frame costs about what it sent (not a buffer per chunk); what unfinished
 * frames hold is capped per connection and server-wide; a frame must complete within frameTimeoutMs.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closesWithin, echoFrame, goodClient, MiB, rawSocket, ServerProcess, sleep } from './harness.js';

/** A request header declaring a body of `bodyLength` bytes. */
function header(bodyLength: number): Buffer {
  const h = Buffer.alloc(16);
  h[0] = 0x08;
  h.writeUInt32BE(bodyLength, 12);
  return h;
}

describe('hostile: unfinished frames', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({
      endpoints: ['tcp@127.0.0.1:0'],
      limits: { maxUnfinishedBytes: 24 * MiB, maxUnfinishedBytesPerConnection: 8 * MiB, frameTimeoutMs: 60_000 },
    });
  });
  after(() => server.stop());

  it('dripped bytes cost less than 4 bytes of server memory each', async () => {
    const { host, port, endpoint } = server.address();
    const connections = 100;
    const rounds = 2000;
    const piece = 16;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < connections; i++) sockets.push(await rawSocket(host, port));
    for (const s of sockets) s.write(header(1 * MiB));
    await sleep(200);
    const baseline = await server.stats();
    const good = await goodClient(endpoint);
    const bytes = Buffer.alloc(piece, 0x61);
    for (let round = 0; round < rounds; round++) {
      for (const s of sockets) s.write(bytes);
      // Let each piece leave as its own segment, as a dripping attacker sends it.
      if (round % 4 === 3) await sleep(1);
    }
    await sleep(500);
    const during = await server.stats();
    const latency = await good.stop();
    const dripped = connections * rounds * piece;
    const held = during.heapUsed + during.arrayBuffers - (baseline.heapUsed + baseline.arrayBuffers);
    const perByte = held / dripped;
    console.log(`drip: ${(dripped / MiB).toFixed(1)} MiB dripped over ${connections} connections; server heap+buffers +${(held / MiB).toFixed(1)} MB = ${perByte.toFixed(2)} bytes per byte; good client p99 ${latency.p99.toFixed(1)} ms`);
    for (const s of sockets) s.destroy();
    assert.ok(perByte < 4, `${perByte.toFixed(2)} bytes of memory per dripped byte`);
    assert.equal(latency.errors, 0);
  });

  it('caps what one connection and all connections hold for unfinished frames', async () => {
    const { host, port } = server.address();
    // One connection declaring a 60 MiB frame and sending 12 MiB of it passes its own 8 MiB cap: closed.
    const greedy = await rawSocket(host, port);
    greedy.on('error', () => undefined);
    greedy.write(header(60 * MiB));
    for (let i = 0; i < 12; i++) greedy.write(Buffer.alloc(MiB));
    assert.ok(await closesWithin(greedy, 10_000), 'a connection holding more than its cap was not closed');

    // Six connections each sending 6 MiB (under their own cap) pass the 24 MiB server-wide cap: some are closed.
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await rawSocket(host, port);
      s.on('error', () => undefined);
      s.write(header(60 * MiB));
      for (let j = 0; j < 6; j++) s.write(Buffer.alloc(MiB));
      sockets.push(s);
    }
    const closed = await Promise.all(sockets.map((s) => closesWithin(s, 3000)));
    const stats = await server.stats();
    for (const s of sockets) s.destroy();
    assert.ok(closed.some(Boolean), 'no connection was closed at the server-wide cap');
    assert.ok(!closed.every(Boolean), 'connections under the server-wide cap were closed too');
    assert.ok(stats.protocolErrors >= 2);
  });
});

describe('hostile: slow frames', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['tcp@127.0.0.1:0'], limits: { frameTimeoutMs: 500, idleTimeoutMs: 1500 } });
  });
  after(() => server.stop());

  it('closes a connection whose frame does not complete within frameTimeoutMs', async () => {
    const { host, port } = server.address();
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = await rawSocket(host, port);
      s.write(header(100));
      sockets.push(s);
    }
    // One more byte every 100 ms keeps bytes flowing, but the frame never completes in time.
    const timer = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(Buffer.from([0]));
    }, 100);
    const closed = await Promise.all(sockets.map((s) => closesWithin(s, 5000)));
    clearInterval(timer);
    assert.ok(closed.every(Boolean), `${closed.filter((c) => !c).length} dripping connections still open`);
  });

  it('closes a connection that sends nothing for idleTimeoutMs (idle timeout on)', async () => {
    const { host, port } = server.address();
    const silent = await rawSocket(host, port);
    silent.write(Buffer.from([0x08])); // binary rpcx, then silence… the frame timeout would catch this one first
    silent.destroy();
    const idle = await rawSocket(host, port);
    // One complete request, then nothing.
    idle.write(echoFrame(1, new Uint8Array([1, 2, 3])));
    const started = performance.now();
    assert.ok(await closesWithin(idle, 6000), 'an idle connection was not closed');
    assert.ok(performance.now() - started > 1000, 'closed before the idle timeout');
  });
});
