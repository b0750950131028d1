/**
 * Work already sent is never silently lost: a graceful close answers every call (its reply, or the retryable
 * UnavailableError), an auth failure on a pipelined frame does not lose the replies to earlier authorized calls, and
 * with auth set the builtin pages need the token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, ConnectionClosedError, Server, UnavailableError } from '../../index.js';
import { Echo } from '../../examples/services/index.js';
import { silentLogger } from '../../logger.js';
import { MetaKey, SerializeType } from '../../protocol/constants.js';
import { Message } from '../../protocol/message.js';
import { remoteError } from '../../errors.js';
import { httpRequest } from '../helpers/http.js';
import { rawExchange, sleep } from './harness.js';

async function slowServer(options: ConstructorParameters<typeof Server>[0] = {}): Promise<{ server: Server; address: string }> {
  const server = new Server({ logger: silentLogger, ...options });
  server.register(Echo);
  server.registerFunction('Slow', 'Sleep', async (ms: unknown) => {
    await sleep(Number(ms));
    return ms;
  });
  const listener = await server.serve('tcp@127.0.0.1:0');
  return { server, address: listener.address };
}

describe('hostile: graceful close and auth failures', () => {
  it('server.close() while calls are on the wire: every call gets its reply or UnavailableError', async () => {
    const { server, address } = await slowServer();
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger, timeoutMs: 10_000 });
    const results: string[] = [];
    const outcome = (error: unknown): string =>
      error instanceof UnavailableError ? 'unavailable' : error instanceof ConnectionClosedError ? 'closed' : `other: ${String(error)}`;
    // Slow calls in flight when close() starts, and 20 callers that keep a call on the wire until the connection goes.
    const slow = Array.from({ length: 50 }, () =>
      client.call('Slow', 'Sleep', 100, { serializeType: SerializeType.JSON }).then(() => 'reply', outcome),
    );
    const callers = Array.from({ length: 20 }, async () => {
      while (!client.closed) {
        results.push(await client.call('Slow', 'Sleep', 0, { serializeType: SerializeType.JSON }).then(() => 'reply', outcome));
      }
    });
    await sleep(30);
    const closing = server.close({ timeoutMs: 5000 });
    await Promise.all(callers);
    results.push(...(await Promise.all(slow)));
    await closing;
    const count = (kind: string): number => results.filter((r) => r === kind).length;
    console.log(`graceful close: ${results.length} calls → ${count('reply')} replies, ${count('unavailable')} UnavailableError, ${count('closed')} ConnectionClosedError`);
    assert.equal(count('reply') + count('unavailable'), results.length, results.find((r) => r !== 'reply' && r !== 'unavailable'));
    assert.ok(count('reply') >= 50);
    await client.close();
  });

  it('a pipelined frame that fails auth does not lose the reply to an earlier authorized call', async () => {
    const { server, address } = await slowServer({ auth: (token) => token === 'secret' });
    const [host, port] = address.split(':');
    const request = (seq: number, token: string | undefined, method = 'Sleep', payload = '100'): Uint8Array =>
      new Message({
        serializeType: SerializeType.JSON,
        seq,
        servicePath: method === 'Sleep' ? 'Slow' : 'Echo',
        serviceMethod: method,
        metadata: token ? { [MetaKey.Auth]: token } : {},
        payload: new TextEncoder().encode(payload),
      }).encode();
    // An authorized slow call, a refused one, then one more authorized call behind it on the same connection.
    const replies = await rawExchange(host!, Number(port), [request(1, 'secret'), request(2, 'wrong'), request(3, 'secret', 'Echo', '"x"')], 3);
    const bySeq = new Map(replies.map((r) => [Number(r.seq), r]));
    assert.equal(bySeq.get(1)?.status, 0, 'the earlier authorized call lost its reply');
    assert.equal(new TextDecoder().decode(bySeq.get(1)!.payload), '100');
    assert.match(bySeq.get(2)!.metadata[MetaKey.Error]!, /authentication failed/);
    const third = bySeq.get(3)!;
    assert.equal(third.status, 1);
    assert.ok(remoteError(third.metadata[MetaKey.Error]!) instanceof UnavailableError);
    await server.close({ timeoutMs: 100 });
  });

  it('with auth set, the pages need the token; /health stays open; pages can be turned off one by one', async () => {
    const { server, address } = await slowServer({ auth: (token) => token === 'secret', pages: { connections: false } });
    const base = `http://${address}`;
    for (const page of ['/status', '/metrics', '/rpcz', '/dashboard']) {
      assert.equal((await httpRequest(base + page)).status, 401, `${page} without a token`);
      assert.equal((await httpRequest(base + page, { headers: { Authorization: 'wrong' } })).status, 401, `${page} with a wrong token`);
    }
    assert.equal((await httpRequest(base + '/status', { headers: { Authorization: 'secret' } })).status, 200);
    assert.equal((await httpRequest(base + '/metrics', { headers: { Authorization: 'secret' } })).status, 200);
    assert.equal((await httpRequest(base + '/dashboard?token=secret')).status, 200);
    assert.equal((await httpRequest(base + '/health')).status, 200);
    assert.equal((await httpRequest(base + '/connections', { headers: { Authorization: 'secret' } })).status, 404);
    await server.close({ timeoutMs: 100 });
  });
});
