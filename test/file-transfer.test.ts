/**
 * rpcx's file transfer and stream service on real loopback sockets: our client against our server, and byte-level
 * checks of what Go's rpcx does on the wire (the token call's msgpack/JSON structs, 32 raw token bytes first on the
 * data connection, nothing sent back, unknown/reused/expired tokens closed without a byte).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client, MessageType, Peer2PeerDiscovery, SerializeType, Server, ServiceError, XClient } from '../index.js';
import { Message } from '../protocol/message.js';
import { AbortedError, TransferError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { getCodec } from '../codec/index.js';
import { rawCall } from './helpers/raw-rpcx.js';
import { TokenGate } from '../server/transfer/token-gate.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

const msgpack = getCodec(SerializeType.MsgPack);
const json = getCodec(SerializeType.JSON);

/** Connects to `addr`, writes `chunks` (with a pause between them), ends, and collects what comes back until close. */
function dataConnection(addr: string, chunks: Uint8Array[], end = true): Promise<{ received: Buffer; error?: Error }> {
  const [host, port] = addr.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: host || '127.0.0.1', port: Number(port), allowHalfOpen: true });
    const got: Buffer[] = [];
    let error: Error | undefined;
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('end', () => socket.end());
    socket.on('error', (e) => (error = e));
    socket.on('close', () => resolve({ received: Buffer.concat(got), ...(error ? { error } : {}) }));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (end) socket.end();
    });
  });
}

/** Go's msgpack encoding of share.FileTransferArgs{FileName, FileSize, Meta: nil} (vmihailenco v5 defaults: int64 as 0xd3). */
function goFileTransferArgs(name: string, size: number): Uint8Array {
  const nameBytes = Buffer.from(name);
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigInt64BE(BigInt(size));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x83, 0xa8]),
      Buffer.from('FileName'),
      Buffer.from([0xa0 | nameBytes.length]),
      nameBytes,
      Buffer.from([0xa8]),
      Buffer.from('FileSize'),
      Buffer.from([0xd3]),
      sizeBytes,
      Buffer.from([0xa4]),
      Buffer.from('Meta'),
      Buffer.from([0xc0]),
    ]),
  );
}

describe('file transfer (rpcx _filetransfer)', () => {
  let dir: string;
  let server: Server;
  let endpoint: string;
  const uploadsSeen: Array<{ FileName: string; FileSize: number; Meta: Record<string, string> }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpcx-ft-'));
    server = new Server({ logger: silentLogger, auth: (token, request) => request.servicePath !== '_filetransfer' || token !== 'bad' });
    const listener = await server.serve('tcp@127.0.0.1:0');
    endpoint = `tcp@${listener.address}`;
    await server.enableFileTransfer({
      listen: '127.0.0.1:0',
      dir,
      authorize: (args) => {
        uploadsSeen.push(args as never);
      },
      tokenTtlMs: 1500,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a file and a Readable, and downloads it back, with our client', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger });
    try {
      const content = randomBytes(3 * 1024 * 1024 + 17);
      const source = join(dir, 'source.bin');
      writeFileSync(source, content);
      let progressed = 0;
      const sent = await client.sendFile(source, { owner: 'me' }, { fileName: 'copy.bin', onProgress: (n) => (progressed = n) });
      assert.equal(sent.bytes, content.length);
      assert.equal(progressed, content.length);
      assert.deepEqual(readFileSync(join(dir, 'copy.bin')), content);
      assert.deepEqual(uploadsSeen.at(-1), { FileName: 'copy.bin', FileSize: content.length, Meta: { owner: 'me' } });

      await client.sendFile(Readable.from([Buffer.from('hello '), Buffer.from('stream')]), {}, { fileName: 'hello.txt' });
      assert.equal(readFileSync(join(dir, 'hello.txt'), 'utf8'), 'hello stream');

      const chunks: Buffer[] = [];
      const got = await client.downloadFile('copy.bin', new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }));
      assert.equal(got.bytes, content.length);
      assert.deepEqual(Buffer.concat(chunks), content);

      await client.downloadFile('hello.txt', join(dir, 'hello-copy.txt'));
      assert.equal(readFileSync(join(dir, 'hello-copy.txt'), 'utf8'), 'hello stream');
    } finally {
      await client.close();
    }
  });

  it('a missing file resets the download; a short upload is discarded', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger });
    try {
      await assert.rejects(client.downloadFile('nope.bin', new PassThrough().resume()), TransferError);
      await assert.rejects(
        client.sendFile(Readable.from([Buffer.from('abc')]), {}, { fileName: 'short.bin', fileSize: 10 }),
        TransferError,
      );
      assert.equal(existsSync(join(dir, 'short.bin')), false);
    } finally {
      await client.close();
    }
  });

  it('an aborted or failing upload of unknown size is reset, and the server keeps nothing', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger });
    try {
      const endless = (): Readable =>
        new Readable({
          read() {
            setTimeout(() => this.push(Buffer.alloc(16 * 1024, 1)), 5);
          },
        });
      await assert.rejects(client.sendFile(endless(), {}, { fileName: 'aborted.bin', signal: AbortSignal.timeout(150) }), AbortedError);
      const failing = endless();
      setTimeout(() => failing.destroy(new Error('disk gone')), 150);
      await assert.rejects(client.sendFile(failing, {}, { fileName: 'failed.bin' }), TransferError);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(existsSync(join(dir, 'aborted.bin')), false);
      assert.equal(existsSync(join(dir, 'failed.bin')), false);
    } finally {
      await client.close();
    }
  });

  it("answers Go's msgpack TransferFile bytes with a FileTransferReply {Token: bin 32, Addr}, then takes the raw upload", async () => {
    const request = new Message({
      type: MessageType.Request,
      serializeType: SerializeType.MsgPack,
      seq: 7,
      servicePath: '_filetransfer',
      serviceMethod: 'TransferFile',
      payload: goFileTransferArgs('go.bin', 10),
    });
    const reply = await rawCall(endpoint.replace(/^tcp@/, ''), request);
    assert.equal(reply.isError, false, reply.metadata.__rpcx_error__);
    const payload = Buffer.from(reply.payload);
    // fixmap of 2: "Token" bin8 of 32 bytes, "Addr" string.
    assert.equal(payload[0], 0x82);
    const tokenAt = payload.indexOf(Buffer.from([0xa5, ...Buffer.from('Token')]));
    assert.ok(tokenAt >= 0);
    assert.deepEqual([...payload.subarray(tokenAt + 6, tokenAt + 8)], [0xc4, 0x20]);
    const value = msgpack.decode(reply.payload) as { Token: Uint8Array; Addr: string };
    assert.equal(value.Token.length, 32);
    assert.match(value.Addr, /^127\.0\.0\.1:\d+$/);

    // The token split over two writes and followed by data, as TCP may deliver it; nothing is sent back.
    const token = value.Token;
    const result = await dataConnection(value.Addr, [token.subarray(0, 5), Buffer.concat([token.subarray(5), Buffer.from('0123')]), Buffer.from('456789')]);
    assert.equal(result.received.length, 0);
    assert.equal(readFileSync(join(dir, 'go.bin'), 'utf8'), '0123456789');

    // Single use: the same token again is closed without a byte.
    const reused = await dataConnection(value.Addr, [token, Buffer.from('xx')]);
    assert.equal(reused.received.length, 0);
    assert.equal(readFileSync(join(dir, 'go.bin'), 'utf8'), '0123456789');
  });

  it('speaks the JSON tags (file_name, token base64, addr) for JSON callers', async () => {
    const request = new Message({
      serializeType: SerializeType.JSON,
      seq: 1,
      servicePath: '_filetransfer',
      serviceMethod: 'DownloadFile',
      payload: json.encode({ File_Name: 'go.bin' }),
    });
    const reply = await rawCall(endpoint.replace(/^tcp@/, ''), request);
    const value = JSON.parse(Buffer.from(reply.payload).toString()) as { token: string; addr: string };
    assert.deepEqual(Object.keys(value).sort(), ['addr', 'token']);
    const token = Buffer.from(value.token, 'base64');
    assert.equal(token.length, 32);
    const result = await dataConnection(value.addr, [token], false);
    assert.equal(result.received.toString(), '0123456789');
  });

  it('forgets unused tokens after their TTL; unknown tokens get no byte', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger });
    try {
      const reply = (await client.call('_filetransfer', 'DownloadFile', { FileName: 'go.bin', Meta: null })) as { Token: Uint8Array; Addr: string };
      const service = server.registry.get('_filetransfer');
      assert.ok(service);
      const unknown = await dataConnection(reply.Addr, [randomBytes(32)]);
      assert.equal(unknown.received.length, 0);
      await new Promise((r) => setTimeout(r, 1700));
      const expired = await dataConnection(reply.Addr, [reply.Token], false);
      assert.equal(expired.received.length, 0);
    } finally {
      await client.close();
    }
  });

  it('drops a data connection that sends no token in time, and takes no more than maxConnections at once', async () => {
    const gate = await TokenGate.open({ listen: '127.0.0.1:0', handshakeTimeoutMs: 1000, maxConnections: 1 }, undefined, silentLogger, () => undefined);
    try {
      const [host, port] = gate.address.split(':');
      const started = Date.now();
      const silent = net.connect({ host: host!, port: Number(port) });
      await new Promise((r) => silent.once('connect', r));
      const silentClosed = new Promise<number>((r) => silent.once('close', () => r(Date.now())));
      // One beyond maxConnections is closed at once, long before the silent one times out.
      const extra = await dataConnection(gate.address, []);
      const extraClosed = Date.now();
      assert.equal(extra.received.length, 0);
      const silentAt = await silentClosed;
      assert.ok(extraClosed < silentAt, 'the extra connection was closed first');
      assert.ok(silentAt - started >= 900, 'the silent one was dropped after handshakeTimeoutMs');
    } finally {
      await gate.close();
    }
  });

  it('applies auth to the token call', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger, auth: 'bad' });
    try {
      await assert.rejects(client.sendFile(Readable.from([Buffer.from('x')]), {}, { fileName: 'x.bin' }), ServiceError);
    } finally {
      await client.close();
    }
  });

  it('XClient.sendFile and downloadFile go through a selected server', async () => {
    const xclient = new XClient('_filetransfer', 'failfast', 'random', new Peer2PeerDiscovery(endpoint), { logger: silentLogger });
    try {
      await xclient.sendFile(Readable.from([Buffer.from('via xclient')]), {}, { fileName: 'x.txt' });
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      await xclient.downloadFile('x.txt', out);
      assert.equal(Buffer.concat(chunks).toString(), 'via xclient');
    } finally {
      await xclient.close();
    }
  });
});

describe('stream service (rpcx _streamservice)', () => {
  let server: Server;
  let endpoint: string;

  before(async () => {
    server = new Server({ logger: silentLogger });
    endpoint = `tcp@${(await server.serve('tcp@127.0.0.1:0')).address}`;
    await server.enableStreamService({
      listen: '0.0.0.0:0',
      accept: (args) => args.Meta.refuse !== 'yes',
      handler: async (conn, args) => {
        // Listening late, with 'data': nothing sent meanwhile is lost.
        await new Promise((resolve) => setTimeout(resolve, 30));
        conn.write(`hello ${args.Meta.name ?? ''}\n`);
        conn.on('data', (chunk: Buffer) => conn.write(chunk));
        conn.once('end', () => conn.end());
      },
    });
  });
  after(() => server.close());

  it('hands a raw bidirectional byte stream to the handler (wildcard listen advertised as :port)', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger });
    try {
      const reply = (await client.call('_streamservice', 'Stream', { Meta: { name: 'x' } })) as { Addr: string };
      assert.match(reply.Addr, /^:\d+$/);
      const conn = await client.stream({ name: 'ts' });
      const got: Buffer[] = [];
      conn.on('data', (c: Buffer) => got.push(c));
      conn.end('ping');
      await new Promise((r) => conn.on('close', r));
      assert.equal(Buffer.concat(got).toString(), 'hello ts\nping');
    } finally {
      await client.close();
    }
  });

  it("a refusing acceptor answers rpcx's ErrNotAccept text", async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger });
    try {
      await assert.rejects(client.stream({ refuse: 'yes' }), (e: Error) => e instanceof ServiceError && e.message === 'server refused the connection');
    } finally {
      await client.close();
    }
  });
});

describe('file transfer over TLS', () => {
  let certs: TestCerts;
  let server: Server;
  let endpoint: string;
  let dir: string;

  before(async () => {
    certs = createTestCerts();
    dir = mkdtempSync(join(tmpdir(), 'rpcx-ft-tls-'));
    server = new Server({ logger: silentLogger });
    endpoint = `tcp@${(await server.serve('tcp@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } })).address}`;
    const transfer = await server.enableFileTransfer({ listen: '127.0.0.1:0', dir });
    assert.equal(transfer.gate.secure, true);
  });
  after(async () => {
    await server.close();
    certs.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the data connection is TLS when the server serves TLS', async () => {
    const client = await Client.connect(endpoint, { logger: silentLogger, tls: { ca: certs.caPem } });
    try {
      await client.sendFile(Readable.from([Buffer.from('secret')]), {}, { fileName: 's.txt' });
      assert.equal(readFileSync(join(dir, 's.txt'), 'utf8'), 'secret');
      // A plain-TCP data connection to the TLS listener stores nothing (rpcx has no acknowledgement to fail with).
      await client.sendFile(Readable.from([Buffer.from('x')]), {}, { fileName: 'p.txt', tls: false, finishTimeoutMs: 2000 }).catch(() => undefined);
      assert.equal(existsSync(join(dir, 'p.txt')), false);
    } finally {
      await client.close();
    }
  });

  it('with allowPlain, one data listener takes TLS clients and plain-TCP (Go) ones', async () => {
    const transfer = await server.enableFileTransfer({ listen: '127.0.0.1:0', dir, allowPlain: true });
    const client = await Client.connect(endpoint, { logger: silentLogger, tls: { ca: certs.caPem } });
    try {
      // Both calls reach the newest _filetransfer registration.
      await client.sendFile(Readable.from([Buffer.from('over tls')]), {}, { fileName: 't.txt' });
      assert.equal(readFileSync(join(dir, 't.txt'), 'utf8'), 'over tls');
      await client.sendFile(Readable.from([Buffer.from('plain')]), {}, { fileName: 'g.txt', tls: false });
      assert.equal(readFileSync(join(dir, 'g.txt'), 'utf8'), 'plain');
      assert.equal(transfer.gate.secure, true);
    } finally {
      await client.close();
    }
  });
});

describe('file transfer found through a registry', () => {
  it('enableFileTransfer advertises _filetransfer, so an XClient discovers it like any service', async () => {
    const { startRedis } = await import('./helpers/stores.js');
    const { createDiscovery, createRegistrar } = await import('../registry/index.js');
    const store = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-ft-reg-'));
    const server = new Server({ logger: silentLogger, deregisterDelayMs: 0 });
    const url = `${store.url}/rpcx_ft`;
    try {
      await server.addRegistrar(createRegistrar(url, { ttlSeconds: 10, logger: silentLogger }));
      const listener = await server.serve('tcp@127.0.0.1:0');
      await server.enableFileTransfer({ listen: '127.0.0.1:0', dir });
      const discovery = await createDiscovery(url, '_filetransfer', { logger: silentLogger });
      const deadline = Date.now() + 5000;
      while (discovery.list().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(discovery.list().map((p) => p.key), [`tcp@${listener.address}`]);
      const xclient = new XClient('_filetransfer', 'failover', 'roundrobin', discovery, { logger: silentLogger });
      await xclient.sendFile(Readable.from([Buffer.from('found')]), {}, { fileName: 'r.txt' });
      assert.equal(readFileSync(join(dir, 'r.txt'), 'utf8'), 'found');
      await xclient.close();
      await discovery.close();
    } finally {
      await server.close({ timeoutMs: 500 });
      await store.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
