/**
 * One service test suite, run over every network: concurrent calls, a 4 MiB payload, server push, a deadline and a
 * server restart on the same address. Switching network is a change of endpoint string and options, never of code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, SerializeType, Server, TimeoutError, type ClientOptions, type ListenOptions } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith, Echo, Feed } from '../examples/services/index.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

interface NetworkCase {
  name: string;
  /** Endpoint to listen on (port 0 or a fresh path) and its options. */
  listen(certs: TestCerts, dir: string): { endpoint: string; options: ListenOptions };
  /** Client options to dial it. */
  client(certs: TestCerts): ClientOptions;
}

const networks: NetworkCase[] = [
  { name: 'tcp', listen: () => ({ endpoint: 'tcp@127.0.0.1:0', options: {} }), client: () => ({}) },
  {
    name: 'tcp+tls',
    listen: (c) => ({ endpoint: 'tcp@127.0.0.1:0', options: { tls: { cert: c.certPem, key: c.keyPem } } }),
    client: (c) => ({ tls: { ca: c.caPem } }),
  },
  { name: 'unix', listen: (_c, dir) => ({ endpoint: `unix@${join(dir, 'suite.sock')}`, options: {} }), client: () => ({}) },
  { name: 'reuseport', listen: () => ({ endpoint: 'reuseport@127.0.0.1:0', options: {} }), client: () => ({}) },
  { name: 'http', listen: () => ({ endpoint: 'http@127.0.0.1:0', options: {} }), client: () => ({}) },
  { name: 'ws', listen: () => ({ endpoint: 'ws@127.0.0.1:0', options: {} }), client: () => ({}) },
  {
    name: 'quic',
    listen: (c) => ({ endpoint: 'quic@127.0.0.1:0', options: { tls: { cert: c.certPem, key: c.keyPem } } }),
    client: (c) => ({ tls: { ca: c.caPem } }),
  },
  { name: 'kcp', listen: () => ({ endpoint: 'kcp@127.0.0.1:0', options: {} }), client: () => ({}) },
  {
    name: 'kcp+aes',
    listen: () => ({ endpoint: 'kcp@127.0.0.1:0', options: { kcpKey: 'rpcx-key' } }),
    client: () => ({ transport: { kcpKey: 'rpcx-key' } }),
  },
  {
    name: 'wss',
    listen: (c) => ({ endpoint: 'wss@127.0.0.1:0', options: { tls: { cert: c.certPem, key: c.keyPem } } }),
    client: (c) => ({ tls: { ca: c.caPem } }),
  },
  {
    name: 'wt',
    listen: (c) => ({ endpoint: 'wt@127.0.0.1:0', options: { tls: { cert: c.certPem, key: c.keyPem } } }),
    client: (c) => ({ tls: { ca: c.caPem } }),
  },
];

for (const network of networks) {
  describe(`over ${network.name}`, () => {
    let certs: TestCerts;
    let dir: string;
    let server: Server;
    let endpoint: string;
    let listenOptions: ListenOptions;
    let client: Client;

    const start = async (at: string): Promise<string> => {
      server = new Server({ logger: silentLogger });
      server.register(Arith);
      server.register(Echo);
      server.register(Feed);
      const listener = await server.serve(at, listenOptions);
      return `${listener.network === 'reuseport' ? 'tcp' : listener.network}@${listener.address}`;
    };

    before(async () => {
      certs = createTestCerts();
      dir = mkdtempSync(join(tmpdir(), 'rpcx-net-'));
      const spec = network.listen(certs, dir);
      listenOptions = spec.options;
      endpoint = await start(spec.endpoint);
      client = await Client.connect(endpoint, { ...network.client(certs), logger: silentLogger });
    });

    after(async () => {
      await client?.close();
      await server?.close();
      certs.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers 2,000 concurrent calls correctly', async () => {
      const replies = await Promise.all(Array.from({ length: 2000 }, (_, i) => client.call<{ C: number }>('Arith', 'Mul', { A: i, B: 7 })));
      replies.forEach((r, i) => assert.equal(r.C, i * 7));
    });

    it('carries a 4 MiB payload both ways', async () => {
      const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
      const echoed = await client.call<Uint8Array>('Echo', 'Echo', big, { serializeType: SerializeType.None, timeoutMs: 30_000 });
      assert.equal(Buffer.compare(Buffer.from(echoed), Buffer.from(big)), 0);
    });

    it('delivers server push', async () => {
      const pushes = client.pushes();
      assert.equal(await client.call('Feed', 'Subscribe', { Count: 3 }), 3);
      for (let i = 0; i < 3; i++) assert.deepEqual((await pushes.next()).value!.value, { N: i });
      await pushes.return!();
    });

    it('enforces a deadline on both sides', async () => {
      const started = Date.now();
      await assert.rejects(client.call('Feed', 'Sleep', { Ms: 5000 }, { timeoutMs: 100 }), TimeoutError);
      assert.ok(Date.now() - started < 2000);
      assert.equal(await client.call('Feed', 'Sleep', { Ms: 1 }), 'done');
    });

    it('serves again after a server restart on the same address', async () => {
      await client.close();
      await server.close();
      const address = endpoint.slice(endpoint.indexOf('@') + 1);
      const listenNetwork = network.listen(certs, dir).endpoint.split('@')[0]!;
      endpoint = await start(`${listenNetwork}@${address}`);
      client = await Client.connect(endpoint, { ...network.client(certs), logger: silentLogger });
      assert.deepEqual(await client.call('Arith', 'Add', { A: 20, B: 22 }), { C: 42 });
    });
  });
}

describe('ws: what Go rpcx clients send', () => {
  it('accepts rpcx frames in text messages (x/net/websocket default) that are not valid UTF-8', async () => {
    const { WebSocket } = await import('ws');
    const { Message } = await import('../protocol/message.js');
    const { FrameParser } = await import('../protocol/frame-parser.js');
    const server = new Server({ logger: silentLogger });
    server.register(Arith);
    const listener = await server.serve('ws@127.0.0.1:0');
    const ws = new WebSocket(`ws://${listener.address}/_rpcx_`, { origin: `http://${listener.address}` });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const replies: InstanceType<typeof Message>[] = [];
    const parser = new FrameParser((m) => replies.push(m));
    ws.on('message', (data: Buffer) => parser.push(data));
    // msgpack {A: 200, B: 3}: 0xcc is not valid UTF-8 on its own.
    const request = new Message({ serializeType: SerializeType.MsgPack, seq: 0, servicePath: 'Arith', serviceMethod: 'Mul', payload: new Uint8Array([0x82, 0xa1, 0x41, 0xcc, 0xc8, 0xa1, 0x42, 0x03]) });
    ws.send(request.encode(), { binary: false });
    const deadline = Date.now() + 3000;
    while (replies.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(replies.length, 1, 'a reply came back');
    assert.equal(replies[0]!.isError, false);
    assert.deepEqual([...replies[0]!.payload], [0x81, 0xa1, 0x43, 0xcd, 0x02, 0x58]);
    ws.close();
    await server.close();
  });
});
