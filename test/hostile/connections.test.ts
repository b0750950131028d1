/**
 * Connection and call limits: connections past maxConnections are closed at accept; a connection pipelining more
 * calls than maxConcurrentCallsPerConnection runs at most that many at once and still gets every reply.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SerializeType } from '../../protocol/constants.js';
import { Message } from '../../protocol/message.js';
import { closesWithin, rawExchange, rawSocket, ServerProcess, sleep } from './harness.js';

describe('hostile: connection and call limits', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['tcp@127.0.0.1:0'], limits: { maxConnections: 40, maxConcurrentCallsPerConnection: 8 } });
  });
  after(() => server.stop());

  it('closes connections past maxConnections at accept', async () => {
    const { host, port } = server.address();
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 60; i++) {
      const s = await rawSocket(host, port);
      s.on('error', () => undefined);
      sockets.push(s);
    }
    const closed = await Promise.all(sockets.map((s) => closesWithin(s, 1500)));
    for (const s of sockets) s.destroy();
    assert.equal(closed.filter(Boolean).length, 20);
    await sleep(200);
    assert.equal((await server.stats()).connections, 0);
  });

  it('runs at most maxConcurrentCallsPerConnection calls of one connection at once, and answers all of them', async () => {
    const { host, port } = server.address();
    const frames = Array.from({ length: 64 }, (_, i) =>
      new Message({ serializeType: SerializeType.JSON, seq: i + 1, servicePath: 'Slow', serviceMethod: 'Sleep', payload: new TextEncoder().encode('150') }).encode(),
    );
    const replies = rawExchange(host, port, frames, frames.length, 30_000);
    let peak = 0;
    let done = false;
    void replies.finally(() => (done = true));
    while (!done) {
      peak = Math.max(peak, (await server.stats()).inFlight);
      await sleep(50);
    }
    const all = await replies;
    assert.equal(all.length, 64);
    assert.ok(all.every((r) => r.status === 0));
    assert.ok(peak > 0 && peak <= 8, `peak of ${peak} calls in flight`);
  });
});
