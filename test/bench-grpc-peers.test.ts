/**
 * The servers `npm run bench` puts in front of the grpc-js client to find its ceiling (bench/grpc-ceiling.ts): the
 * minimal node:http2 responder and the raw HTTP/2 responder with pre-encoded frames must answer a real grpc-js
 * client correctly, or their figures mean nothing. Many calls at once on one channel (more reply bytes than the
 * client's first connection window, so the raw responder has to wait for WINDOW_UPDATE), the largest reply the raw
 * responder sends in one frame, and a clear error beyond it.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { createClient, type EchoClientInstance } from '../bench/peers/grpc-echo.js';
import { startListening, stopProcess } from './helpers/processes.js';

const peersDir = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bench', 'peers');

function echo(client: EchoClientInstance, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => client.echo(payload, (error, reply) => (error ? reject(error) : resolve(reply!))));
}

for (const peer of ['h2-ideal-responder.js', 'h2-node-responder.js']) {
  describe(`bench peer ${peer} answers grpc-js`, () => {
    let child: ChildProcess;
    let client: EchoClientInstance;

    before(async () => {
      const started = await startListening(join(peersDir, peer), []);
      child = started.child;
      const endpoint = started.endpoints[0]!;
      client = createClient(Number(endpoint.slice(endpoint.lastIndexOf(':') + 1)));
    });

    after(async () => {
      client.close();
      await stopProcess(child);
    });

    it('echoes 300 concurrent 1 KiB calls on one channel, each its own bytes', async () => {
      const payloads = Array.from({ length: 300 }, (_, i) => Buffer.alloc(1024, i % 251));
      const replies = await Promise.all(payloads.map((p) => echo(client, p)));
      replies.forEach((reply, i) => assert.deepEqual(reply, payloads[i]));
    });

    it('echoes an empty message and one of 16,000 bytes', async () => {
      assert.equal((await echo(client, Buffer.alloc(0))).length, 0);
      const big = Buffer.alloc(16_000, 7);
      assert.deepEqual(await echo(client, big), big);
    });
  });
}

describe('bench peer h2-ideal-responder.js beyond one DATA frame', () => {
  it('resets the stream of a reply over 16 KiB: the call fails, the channel goes on', async () => {
    const { child, endpoints } = await startListening(join(peersDir, 'h2-ideal-responder.js'), []);
    const client = createClient(Number(endpoints[0]!.slice(endpoints[0]!.lastIndexOf(':') + 1)));
    try {
      await assert.rejects(echo(client, Buffer.alloc(20_000, 1)), (error: { code?: number }) => typeof error.code === 'number' && error.code !== 0);
      assert.deepEqual(await echo(client, Buffer.from('after')), Buffer.from('after'));
    } finally {
      client.close();
      await stopProcess(child);
    }
  });
});
