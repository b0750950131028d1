/**
 * A client that pipelines large requests and never reads the replies: the server stops reading that connection once
 * its queued replies pass the high-water mark, so its memory stays bounded, and a good client is not slowed down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import { WebSocket } from 'ws';
import { join } from 'node:path';
import '../../index.js';
import { getTransport, parseEndpoint } from '../../transport/networks.js';
import { createTestCerts } from '../helpers/tls-certs.js';
import { echoFrame, goodClient, MiB, rawSocket, ServerProcess, sleep } from './harness.js';

describe('hostile: a client that never reads', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['tcp@127.0.0.1:0'] });
  });
  after(() => server.stop());

  it('stops being read: server RSS grows less than 100 MB while it pushes 512 MiB of 64 KiB requests', async () => {
    const { host, port, endpoint } = server.address();
    const baseline = await server.stats();
    const good = await goodClient(endpoint);
    const socket = await rawSocket(host, port);
    socket.pause(); // never read a reply
    socket.on('error', () => undefined);
    const payload = new Uint8Array(64 * 1024).fill(7);
    const budget = 512 * MiB;
    let sent = 0;
    let seq = 1;
    let stalled = false;
    while (sent < budget) {
      const frame = echoFrame(seq++, payload);
      sent += frame.length;
      if (!socket.write(frame)) {
        // Wait for our own socket buffer to drain; if it does not within a second, the server stopped reading.
        const drained = await Promise.race([new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))), sleep(1000).then(() => false)]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    const during = await server.stats();
    const latency = await good.stop();
    socket.destroy();
    const growthMB = (during.rss - baseline.rss) / MiB;
    console.log(`non-reading client: sent ${(sent / MiB).toFixed(0)} MiB before the server stopped reading; server RSS +${growthMB.toFixed(1)} MB; good client p99 ${latency.p99.toFixed(1)} ms over ${latency.count} calls`);
    assert.ok(stalled, `the server kept reading: ${(sent / MiB).toFixed(0)} MiB accepted`);
    assert.ok(growthMB < 100, `server RSS grew ${growthMB.toFixed(1)} MB`);
    assert.equal(latency.errors, 0);
    assert.ok(latency.p99 < 500, `good client p99 ${latency.p99.toFixed(1)} ms`);
    assert.ok(server.alive);
  });

  it('reads again once the client reads: every reply arrives, in order', async () => {
    const { host, port } = server.address();
    const socket = await rawSocket(host, port);
    socket.pause();
    const payload = new Uint8Array(64 * 1024).fill(1);
    const count = 200; // 13 MiB of replies: far past the 1 MiB high-water mark
    for (let i = 1; i <= count; i++) socket.write(echoFrame(i, payload));
    await sleep(300);
    let received = 0;
    const expected = count * echoFrame(1, payload).length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received} of ${expected} reply bytes`)), 30_000);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= expected) {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.resume();
    });
    socket.destroy();
    assert.equal(received, expected);
  });
});

describe('hostile: a client that never reads, on every stream network', () => {
  const certs = createTestCerts();
  const socketPath = join(tmpdir(), `rpcx-hostile-${process.pid}.sock`);
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({
      endpoints: [`unix@${socketPath}`, 'http@127.0.0.1:0', 'ws@127.0.0.1:0', 'quic@127.0.0.1:0', 'kcp@127.0.0.1:0'],
      listen: { quic: { tls: { cert: certs.certPem, key: certs.keyPem } } },
    });
  });
  after(async () => {
    await server.stop();
    certs.cleanup();
  });

  /** A client that writes and never reads: a raw `ws` socket (paused) for ws, this library's Conn otherwise. */
  async function nonReadingWriter(network: string, address: string): Promise<{ write(b: Uint8Array): void; readonly queued: number; close(): void }> {
    if (network === 'ws') {
      const ws = new WebSocket(`ws://${address}/_rpcx_`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.pause();
      ws.on('error', () => undefined);
      return { write: (b) => ws.send(b), get queued() { return ws.bufferedAmount; }, close: () => ws.terminate() };
    }
    const conn = await getTransport(network).dial(network, address, { connectTimeoutMs: 5000, ...(network === 'quic' ? { tls: { insecure: true } } : {}) });
    // Never onData: the client reads nothing, so replies back up on the server.
    return { write: (b) => void conn.write(b), get queued() { return conn.writableLength; }, close: () => conn.destroy() };
  }

  for (const network of ['unix', 'http', 'ws', 'quic', 'kcp']) {
    it(`${network}: the server stops reading once its replies back up`, async () => {
      const { endpoint } = server.address(network);
      const { address } = parseEndpoint(endpoint);
      const writer = await nonReadingWriter(network, address);
      const baseline = await server.stats();
      const payload = new Uint8Array(64 * 1024).fill(5);
      let sent = 0;
      let stalled = false;
      for (let seq = 1; sent < 256 * MiB && !stalled; seq++) {
        const frame = echoFrame(seq, payload);
        sent += frame.length;
        writer.write(frame);
        if (writer.queued < 2 * MiB) continue;
        // Our own queue is full: wait for the server to take some. If it takes nothing for 1.5 s, it stopped reading.
        const before = writer.queued;
        const started = performance.now();
        while (writer.queued >= before && !stalled) {
          await sleep(20);
          stalled = performance.now() - started > 1500;
        }
      }
      const stats = await server.stats();
      writer.close();
      const growthMB = (stats.rss - baseline.rss) / MiB;
      console.log(`${network}: non-reading client stalled after ${(sent / MiB).toFixed(0)} MiB; server RSS +${growthMB.toFixed(1)} MB`);
      assert.ok(stalled, `the server kept reading ${(sent / MiB).toFixed(0)} MiB`);
      assert.ok(growthMB < 100, `server RSS grew ${growthMB.toFixed(1)} MB`);
    });
  }
});
