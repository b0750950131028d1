/**
 * Byte-exact against Go rpcx v1.9.4: our server, fed the Go client's captured bytes, must answer exactly the bytes
 * the Go server answered; our client, asked for the same calls, must send exactly the bytes the Go client sent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, SerializeType, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { fromHex, hex, startExampleServer } from './helpers/example-server.js';
import { fixturesDir } from './helpers/paths.js';

interface Sample {
  conn: number;
  what: string;
  direction: string;
  hex: string;
}
const samples = (JSON.parse(readFileSync(join(fixturesDir, 'rpcx-captures.json'), 'utf8')) as { samples: Sample[] }).samples;
const stream = (conn: number, direction: 'client->server' | 'server->client'): string =>
  samples.find((s) => s.conn === conn && s.direction === direction)!.hex;

/** Splits a captured stream into its frames' bytes. */
function frames(hexStream: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  new FrameParser((m) => out.push(m.encode())).push(fromHex(hexStream));
  return out;
}

/**
 * Replays the Go client's frames on a fresh socket one at a time, as the Go client sent them (its heartbeats went
 * 200 ms after the call), waiting for each reply, and returns everything that came back.
 */
async function replay(endpoint: string, requests: Uint8Array[], replyLengths: number[]): Promise<string> {
  const [host, port] = endpoint.replace('tcp@', '').split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  let received = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk) => {
    chunks.push(chunk);
    received += chunk.length;
    wake?.();
  });
  let expected = 0;
  for (let i = 0; i < requests.length; i++) {
    socket.write(requests[i]!);
    expected += replyLengths[i]!;
    const deadline = Date.now() + 3000;
    while (received < expected) {
      if (Date.now() > deadline) throw new Error(`only ${received} of ${expected} bytes came back`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
  socket.destroy();
  return Buffer.concat(chunks).toString('hex');
}

describe('Go rpcx client bytes → our server', () => {
  let server: Server;
  let endpoint: string;
  before(async () => {
    ({ server, endpoint } = await startExampleServer());
  });
  after(() => server.close());

  for (const conn of [1, 2, 3, 4, 5, 6, 7]) {
    const what = samples.find((s) => s.conn === conn)!.what;
    it(`conn ${conn} (${what}): our replies equal the Go server's bytes`, async () => {
      const expected = stream(conn, 'server->client');
      const replies = frames(expected);
      const got = await replay(endpoint, frames(stream(conn, 'client->server')), replies.map((r) => r.length));
      assert.equal(got, expected);
    });
  }
});

describe('our client → bytes the Go client sends', () => {
  let fake: net.Server;
  let port: number;
  let captured: Buffer[] = [];
  let respond: Buffer = Buffer.alloc(0);

  before(async () => {
    // A stand-in server that records requests and answers with the Go server's captured bytes.
    fake = net.createServer((socket) => {
      socket.on('data', (chunk) => {
        captured.push(chunk);
        const parser = new FrameParser(() => undefined);
        parser.push(Buffer.concat(captured));
        if (parser.buffered === 0) socket.write(respond);
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    port = (fake.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => fake.close(() => resolve())));

  const cases: Array<{ conn: number; call: (c: Client) => Promise<unknown>; expect: unknown }> = [
    { conn: 1, call: (c) => c.call('Arith', 'Mul', { A: 10, B: 20 }, { serializeType: SerializeType.JSON }), expect: { C: 200 } },
    { conn: 2, call: (c) => c.call('Arith', 'Mul', { A: 10, B: 20 }), expect: { C: 200 } },
    { conn: 3, call: (c) => c.call('Arith', 'Mul', { A: 10, B: 20 }, { serializeType: SerializeType.JSON, metadata: { trace: 'abc' } }), expect: { C: 200 } },
  ];
  for (const { conn, call, expect } of cases) {
    it(`conn ${conn}: request bytes are the Go client's, and its reply decodes`, async () => {
      captured = [];
      respond = Buffer.from(stream(conn, 'server->client'), 'hex');
      const client = await Client.connect(`tcp@127.0.0.1:${port}`, { logger: silentLogger });
      assert.deepEqual(await call(client), expect);
      assert.equal(Buffer.concat(captured).toString('hex'), stream(conn, 'client->server'));
      await client.close();
    });
  }

  it("conn 7: raw Echo request bytes (first frame) are the Go client's", async () => {
    captured = [];
    const goRequests = stream(7, 'client->server');
    const firstFrame = goRequests.slice(0, 56 * 2);
    respond = Buffer.from(stream(7, 'server->client').slice(0, 56 * 2), 'hex');
    const client = await Client.connect(`tcp@127.0.0.1:${port}`, { logger: silentLogger });
    const reply = await client.call<Uint8Array>('Echo', 'Echo', new TextEncoder().encode('x'.repeat(16)), { serializeType: SerializeType.None });
    assert.equal(Buffer.from(reply).toString(), 'x'.repeat(16));
    assert.equal(hex(Buffer.concat(captured)), firstFrame);
    await client.close();
  });
});
