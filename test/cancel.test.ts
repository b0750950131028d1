/**
 * Cancellation of unary calls: a client's AbortSignal reaches an rpcx-ts server's ctx.signal, through a heartbeat
 * frame carrying `__rpcx_cancel` — the one frame a Go rpcx server neither authenticates nor treats as a call (it
 * echoes heartbeats verbatim), so the cancel is invisible to Go peers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AbortedError, CallContext, Client, MetaKey, Server } from '../index.js';
import { Message } from '../protocol/message.js';
import { silentLogger } from '../logger.js';
import { fakeRpcxServer } from './helpers/raw-rpcx.js';

describe('unary call cancellation', () => {
  let server: Server;
  let endpoint: string;
  const aborted: unknown[] = [];

  before(async () => {
    server = new Server({ logger: silentLogger, auth: (token) => token === 'ok' });
    server.registerFunction('Slow', 'Wait', (_args, ctx: CallContext) => {
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve('finished'), 10_000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          aborted.push(ctx.signal.reason);
          resolve('aborted');
        });
      });
    });
    endpoint = `tcp@${(await server.serve('tcp@127.0.0.1:0')).address}`;
  });
  after(() => server.close());

  it("aborting a call fires the server handler's ctx.signal; the connection stays usable", async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger, auth: 'ok' });
    try {
      const controller = new AbortController();
      const call = client.call('Slow', 'Wait', {}, { signal: controller.signal });
      await new Promise((r) => setTimeout(r, 50));
      controller.abort();
      await assert.rejects(call, AbortedError);
      const deadline = Date.now() + 5000;
      while (aborted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(aborted.length, 1);
      assert.ok(aborted[0] instanceof AbortedError);
      assert.equal(server.inFlight, 0);
      assert.equal(await client.call('Slow', 'Wait', {}, { timeoutMs: 50 }).catch((e: Error) => e.name), 'TimeoutError');
      assert.equal(client.closed, false);
    } finally {
      await client.close();
    }
  });

  it('the cancel goes out as a heartbeat frame (Go servers skip auth for it and only echo it)', async () => {
    // A stand-in server that records frames and, like Go's serveConn, echoes heartbeats as responses.
    const frames: Message[] = [];
    const fake = await fakeRpcxServer((m, reply) => {
      frames.push(m);
      if (m.heartbeat) reply(new Message({ type: 1, heartbeat: true, serializeType: m.serializeType, seq: m.seq, metadata: m.metadata }));
    });
    const client = await Client.connect(fake.endpoint, { logger: silentLogger });
    try {
      const controller = new AbortController();
      const call = client.call('Any', 'Thing', { a: 1 }, { signal: controller.signal });
      await new Promise((r) => setTimeout(r, 30));
      controller.abort();
      await assert.rejects(call, AbortedError);
      const deadline = Date.now() + 2000;
      while (frames.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const [request, cancel] = frames;
      assert.ok(request && cancel);
      assert.equal(cancel.heartbeat, true);
      assert.equal(cancel.isResponse, false);
      assert.equal(cancel.metadata[MetaKey.Cancel], String(request.seq));
      assert.notEqual(cancel.seq, request.seq);
      // The echo matches no call: the client ignores it and keeps working.
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(client.closed, false);
    } finally {
      await client.close();
      fake.close();
    }
  });
});
