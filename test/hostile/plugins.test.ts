/**
 * Plugins cannot crash the server or lose replies: every hook may be async (awaited in order), a hook that throws or
 * rejects becomes its call's error, and a hook that changes a reply after it was queued is harmless.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client, Server, type ServerPlugin } from '../../index.js';
import { Echo } from '../../examples/services/index.js';
import { silentLogger } from '../../logger.js';
import { SerializeType } from '../../protocol/constants.js';
import { sleep } from './harness.js';

async function serverWith(plugins: ServerPlugin[]): Promise<{ server: Server; client: Client }> {
  const server = new Server({ logger: silentLogger, plugins });
  server.register(Echo);
  server.registerFunction('Args', 'Show', (args: unknown) => args);
  const listener = await server.serve('tcp@127.0.0.1:0');
  const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger, timeoutMs: 5000 });
  return { server, client };
}

describe('hostile: plugins', () => {
  const open: Array<{ server: Server; client: Client }> = [];
  after(async () => {
    for (const { server, client } of open) {
      await client.close();
      await server.close({ timeoutMs: 100 });
    }
  });

  it('a postWriteResponse hook that replaces the reply cannot break the batch it was queued in', async () => {
    const env = await serverWith([
      {
        postWriteResponse(_request, reply) {
          reply.payload = new Uint8Array(100_000);
          reply.metadata = { grown: 'x'.repeat(1000) };
        },
      },
    ]);
    open.push(env);
    const calls = Array.from({ length: 200 }, (_, i) => env.client.call('Echo', 'Echo', `m${i}`, { serializeType: SerializeType.JSON }));
    const replies = await Promise.all(calls);
    assert.deepEqual(replies, Array.from({ length: 200 }, (_, i) => `m${i}`));
  });

  it('an async preCall finishes before the handler runs, and the handler gets its arguments', async () => {
    const seen: string[] = [];
    const env = await serverWith([
      {
        async preCall(_ctx, args) {
          await sleep(20);
          seen.push('checked');
          return { replaced: args };
        },
      },
      {
        preCall(_ctx, args) {
          seen.push('second');
          return args;
        },
      },
    ]);
    open.push(env);
    assert.deepEqual(await env.client.call('Args', 'Show', 7, { serializeType: SerializeType.JSON }), { replaced: 7 });
    assert.deepEqual(seen, ['checked', 'second']);
  });

  it('a hook that throws or rejects becomes the call error; the server and the connection carry on', async () => {
    let step = 0;
    const env = await serverWith([
      {
        async postReadRequest(request) {
          if (request.serviceMethod === 'Show' && request.payload.length === 1 && request.payload[0] === 0x31) throw new Error('refused by async postReadRequest');
        },
        async preCall(_ctx, args) {
          if (args === 2) throw new Error('rejected by async preCall');
          return undefined;
        },
        postCall(_ctx, args) {
          if (args === 3) return Promise.reject(new Error('rejected by postCall'));
          return undefined;
        },
        preWriteResponse(_request, reply) {
          if (reply.payload.length === 1 && reply.payload[0] === 0x34) throw new Error('thrown by preWriteResponse');
        },
        async postWriteResponse() {
          step++;
          throw new Error('ignored: the reply is out');
        },
      },
    ]);
    open.push(env);
    const call = (n: number): Promise<unknown> => env.client.call('Args', 'Show', n, { serializeType: SerializeType.JSON });
    await assert.rejects(call(1), /refused by async postReadRequest/);
    await assert.rejects(call(2), /rejected by async preCall/);
    await assert.rejects(call(3), /rejected by postCall/);
    await assert.rejects(call(4), /thrown by preWriteResponse/);
    assert.equal(await call(5), 5);
    assert.ok(step >= 5);
  });

  it('an async postConnAccept that refuses closes the connection; one that accepts lets it be served', async () => {
    let accept = false;
    const env = await serverWith([
      {
        async postConnAccept() {
          await sleep(10);
          return accept;
        },
      },
    ]).catch((error: unknown) => {
      throw error;
    });
    // The helper's own client was refused: its first call fails.
    open.push(env);
    await assert.rejects(env.client.call('Args', 'Show', 1, { serializeType: SerializeType.JSON }));
    accept = true;
    const listener = env.server.listeners[0]!;
    const second = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger, timeoutMs: 5000 });
    assert.equal(await second.call('Args', 'Show', 9, { serializeType: SerializeType.JSON }), 9);
    await second.close();
  });
});
