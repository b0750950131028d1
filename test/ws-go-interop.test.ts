/**
 * `ws` against golang.org/x/net/websocket, the WebSocket package of Go rpcx's ws listener: its handshake refuses a
 * request without an `Origin` header, so our client must send one as Go rpcx's client does. The peer
 * (test/peers/ws-echo) answers rpcx frames over binary WebSocket frames as Go rpcx's ServeWS does; it is built
 * from Debian's golang-golang-x-net-dev in GOPATH mode.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client, DialError, SerializeType } from '../index.js';
import { silentLogger } from '../logger.js';
import { buildGoPeer, type GoPeer } from './helpers/go-peer.js';
import { createTestCerts } from './helpers/tls-certs.js';

let peerBuild: GoPeer | undefined;
const peers: ChildProcess[] = [];
let address: string;

function startPeer(args: string[]): Promise<string> {
  const peer = spawn(peerBuild!.binary, ['-addr', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  peers.push(peer);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Go ws peer did not start within 15 s')), 15_000);
    createInterface({ input: peer.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line.replace(/^listening /, ''));
    });
    peer.once('exit', (code) => reject(new Error(`the Go ws peer exited with ${code}`)));
  });
}

describe('ws: interop with a golang.org/x/net/websocket server', () => {
  before(async () => {
    peerBuild = buildGoPeer({
      name: 'ws-echo',
      source: { file: 'test/peers/ws-echo/main.go' },
      needs: { 'golang.org/x/net/websocket': 'golang-golang-x-net-dev' },
    });
    address = await startPeer([]);
  });

  after(() => {
    for (const peer of peers) peer.kill();
    peerBuild?.remove();
  });

  it('is accepted by default (Origin http://host:port, as Go rpcx sends) and exchanges rpcx frames', async () => {
    const client = await Client.connect(`ws@${address}`, { logger: silentLogger });
    try {
      const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      const echoed = await client.call<Uint8Array>('Peer', 'Echo', bytes, { serializeType: SerializeType.None });
      assert.equal(Buffer.compare(Buffer.from(echoed), Buffer.from(bytes)), 0);
      assert.deepEqual(await client.call('Peer', 'Echo', { A: 6, B: 7 }, { serializeType: SerializeType.JSON }), { A: 6, B: 7 });
      const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => client.call<{ N: number }>('Peer', 'Echo', { N: i })));
      replies.forEach((reply, i) => assert.equal(reply.N, i));
    } finally {
      await client.close();
    }
  });

  it('receives a push the Go side sends', async () => {
    const client = await Client.connect(`ws@${address}`, { logger: silentLogger });
    try {
      const pushes = client.pushes();
      assert.deepEqual(await client.call('Peer', 'Push', { Note: 'hi' }, { serializeType: SerializeType.JSON }), { Note: 'hi' });
      const push = (await pushes.next()).value!;
      assert.equal(`${push.servicePath}.${push.serviceMethod}`, 'Peer.Pushed');
      assert.deepEqual(push.value, { Note: 'hi' });
      await pushes.return!();
    } finally {
      await client.close();
    }
  });

  it('sends the configured Origin; without one x/net/websocket refuses the handshake (403)', async () => {
    const client = await Client.connect(`ws@${address}`, { logger: silentLogger, transport: { wsOrigin: 'https://app.example.com' } });
    assert.deepEqual(await client.call('Peer', 'Echo', [1, 2, 3]), [1, 2, 3]);
    await client.close();
    await assert.rejects(Client.connect(`ws@${address}`, { logger: silentLogger, transport: { wsOrigin: '' } }), (error: Error) => {
      assert.ok(error instanceof DialError);
      assert.match(error.message, /403/);
      return true;
    });
    await assert.rejects(Client.connect(`ws@${address}`, { logger: silentLogger, transport: { wsOrigin: 42 } }), { code: 'ERR_RPCX_CONFIG' });
  });

  it('wss: accepted with Origin https://host:port over TLS', async () => {
    const certs = createTestCerts();
    try {
      const secure = await startPeer(['-cert', join(certs.dir, 'server.pem'), '-key', join(certs.dir, 'server-key.pem')]);
      const client = await Client.connect(`wss@${secure}`, { logger: silentLogger, tls: { ca: certs.caPem } });
      assert.deepEqual(await client.call('Peer', 'Echo', { A: 1 }, { serializeType: SerializeType.JSON }), { A: 1 });
      await client.close();
    } finally {
      certs.cleanup();
    }
  });
});
