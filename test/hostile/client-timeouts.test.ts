/**
 * The client's own timeouts, against raw TCP servers on loopback: a server that starts a reply frame and drips it
 * (or stops) gets its connection closed after limits.frameTimeoutMs, and the calls waiting fail with TimeoutError; a
 * slow reply that does complete in time is fine; limits.idleTimeoutMs closes a connection with nothing pending and no
 * traffic, and not one kept busy by heartbeats or a call in flight.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Client, ConnectionClosedError, TimeoutError } from '../../index.js';
import { silentLogger } from '../../logger.js';
import { SerializeType } from '../../protocol/constants.js';
import { FrameParser } from '../../protocol/frame-parser.js';
import type { Message } from '../../protocol/message.js';
import { sleep } from './harness.js';

type Answer = (request: Message, socket: net.Socket) => void;

/** A server that parses requests as rpcx does and lets `answer` decide what to send back, byte by byte if it likes. */
async function rawServer(answer: Answer): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = new FrameParser((request) => answer(request, socket));
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `tcp@127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The reply to `request` carrying `payload`, encoded. */
function replyBytes(request: Message, payload: Uint8Array): Uint8Array {
  const reply = request.reply();
  reply.payload = payload;
  return reply.encode();
}

/** Writes `bytes` one piece at a time, `everyMs` apart, stopping after `stopAfter` bytes (or when the socket goes). */
function drip(socket: net.Socket, bytes: Uint8Array, piece: number, everyMs: number, stopAfter = bytes.length): void {
  let offset = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || offset >= stopAfter) return clearInterval(timer);
    socket.write(bytes.subarray(offset, Math.min(offset + piece, stopAfter)));
    offset += piece;
  }, everyMs);
}

const JSON_CALL = { serializeType: SerializeType.JSON, timeoutMs: 20_000 };

describe('hostile: client timeouts', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('a server dripping a reply: the connection closes after frameTimeoutMs, pending calls fail with TimeoutError', async () => {
    // The first reply is 4 KiB dripped 1 byte every 20 ms (about 80 s to complete); the second waits behind it.
    const server = await rawServer((request, socket) => {
      if (request.seq === 0) drip(socket, replyBytes(request, new Uint8Array(4096).fill(0x22)), 1, 20);
    });
    closers.push(server.close);
    const client = await Client.connect(server.endpoint, { logger: silentLogger, limits: { frameTimeoutMs: 400 } });
    const started = performance.now();
    const results = await Promise.allSettled([client.call('Echo', 'Echo', 'a', JSON_CALL), client.call('Echo', 'Echo', 'b', JSON_CALL)]);
    const elapsed = performance.now() - started;
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const error = (r as PromiseRejectedResult).reason as Error;
      assert.ok(error instanceof TimeoutError, `TimeoutError, got ${String(error)}`);
      assert.match(error.message, /frameTimeoutMs 400 ms/);
      assert.match(error.message, new RegExp(server.endpoint));
    }
    assert.ok(elapsed >= 350 && elapsed < 10_000, `closed after ${Math.round(elapsed)} ms`);
    assert.equal(client.closed, true);
    // Later calls are told the connection is gone (retryable elsewhere), not that they timed out.
    await assert.rejects(client.call('Echo', 'Echo', 'c', JSON_CALL), ConnectionClosedError);
  });

  it('a server that sends half a reply and stops is cut off the same way', async () => {
    const server = await rawServer((request, socket) => {
      const bytes = replyBytes(request, new Uint8Array(1000));
      socket.write(bytes.subarray(0, 20)); // the header and a little of the body
    });
    closers.push(server.close);
    const client = await Client.connect(server.endpoint, { logger: silentLogger, limits: { frameTimeoutMs: 300 } });
    await assert.rejects(client.call('Echo', 'Echo', 'x', JSON_CALL), (error: unknown) => error instanceof TimeoutError && /frameTimeoutMs/.test((error as Error).message));
  });

  it('a slow reply that completes within frameTimeoutMs is received', async () => {
    // "ok" as JSON, dripped in 8-byte pieces every 10 ms: a few hundred ms, well inside 5 s.
    const server = await rawServer((request, socket) => drip(socket, replyBytes(request, Buffer.from('"ok"')), 8, 10));
    closers.push(server.close);
    const client = await Client.connect(server.endpoint, { logger: silentLogger, limits: { frameTimeoutMs: 5000 } });
    assert.equal(await client.call('Echo', 'Echo', 'x', JSON_CALL), 'ok');
    assert.equal(await client.call('Echo', 'Echo', 'y', JSON_CALL), 'ok');
    assert.equal(client.closed, false);
    await client.close();
  });

  it('idleTimeoutMs closes a quiet connection, but not one kept busy by heartbeats or a call in flight', async () => {
    let hold = false;
    const server = await rawServer((request, socket) => {
      // Heartbeats are echoed; calls are answered unless `hold` (then never).
      if (request.heartbeat || !hold) socket.write(replyBytes(request, request.heartbeat ? request.payload : Buffer.from('"ok"')));
    });
    closers.push(server.close);
    const quiet = await Client.connect(server.endpoint, { logger: silentLogger, limits: { idleTimeoutMs: 200 } });
    const beating = await Client.connect(server.endpoint, { logger: silentLogger, limits: { idleTimeoutMs: 200 }, heartbeat: { intervalMs: 40, timeoutMs: 2000 } });
    const busy = await Client.connect(server.endpoint, { logger: silentLogger, limits: { idleTimeoutMs: 200 } });
    assert.equal(await quiet.call('Echo', 'Echo', 'x', JSON_CALL), 'ok');
    const closedWith = new Promise<Error | undefined>((resolve) => quiet.onClose(resolve));
    hold = true;
    const waiting = busy.call('Echo', 'Echo', 'never answered', { serializeType: SerializeType.JSON, timeoutMs: 1500 });
    const error = await closedWith;
    assert.ok(error instanceof ConnectionClosedError && /idleTimeoutMs/.test(error.message), String(error));
    await sleep(600);
    assert.equal(beating.closed, false, 'heartbeats keep it open');
    assert.equal(busy.closed, false, 'a call in flight keeps it open');
    await assert.rejects(waiting, TimeoutError);
    await beating.close();
    await busy.close();
  });
});
