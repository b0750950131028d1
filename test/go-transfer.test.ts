/**
 * File transfer and stream service against a Go peer built here (test/peers/transfer): rpcx's share
 * structs encoded by the msgpack library Go rpcx uses, in rpcx frames, with Go's data-connection handshake. Go client
 * → our server (upload, download, stream) and our client → Go server (upload, download).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { Client, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import type { FileTransferArgs } from '../protocol/transfer-structs.js';
import { buildGoPeer, type GoPeer } from './helpers/go-peer.js';
import { stopProcess } from './helpers/processes.js';

const run = promisify(execFile);

describe('file transfer and stream service with a Go peer', () => {
  let goPeer: GoPeer | undefined;
  let dir: string;
  let peer: string;

  before(async () => {
    goPeer = buildGoPeer({
      name: 'go-transfer-peer',
      source: { file: 'test/peers/transfer/main.go' },
      needs: { 'github.com/vmihailenco/msgpack/v5': 'golang-github-vmihailenco-msgpack.v5-dev' },
    });
    peer = goPeer.binary;
    dir = mkdtempSync(join(tmpdir(), 'rpcx-go-transfer-'));
  });
  after(() => {
    goPeer?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('Go client → rpcx-ts server', () => {
    let server: Server;
    let address: string;
    let store: string;
    const seen: FileTransferArgs[] = [];

    before(async () => {
      store = join(dir, 'ts-store');
      mkdirSync(store);
      server = new Server({ logger: silentLogger });
      address = (await server.serve('tcp@127.0.0.1:0')).address;
      await server.enableFileTransfer({ listen: '127.0.0.1:0', dir: store, authorize: (args) => void seen.push(args as FileTransferArgs) });
      server.registerFunction('Ticker', 'Ticks', async function* () {
        yield 1;
      });
      await server.enableStreamService({ listen: '127.0.0.1:0', handler: (conn, args) => {
        conn.write(`hi ${args.Meta.name}: `);
        conn.pipe(conn);
      } });
    });
    after(() => server.close());

    it("Go's SendFile uploads; its FileTransferArgs decode field for field", async () => {
      const content = randomBytes(1024 * 1024 + 3);
      const file = join(dir, 'from-go.bin');
      writeFileSync(file, content);
      const { stdout } = await run(peer, ['upload', address, file]);
      assert.equal(stdout, 'token 32\n');
      assert.deepEqual(seen.at(-1), { FileName: 'from-go.bin', FileSize: content.length, Meta: { by: 'go' } });
      // Go's client returns after its last write, with no acknowledgement: wait for the file to be stored.
      const deadline = Date.now() + 5000;
      while (!existsSync(join(store, 'from-go.bin')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(readFileSync(join(store, 'from-go.bin')), content);
    });

    it("Go's DownloadFile reads the file until the server closes", async () => {
      const content = randomBytes(300_000);
      writeFileSync(join(store, 'to-go.bin'), content);
      const { stdout } = await run(peer, ['download', address, 'to-go.bin'], { encoding: 'buffer', maxBuffer: 1 << 24 });
      assert.deepEqual(stdout, content);
    });

    it('a Go client calling a typed streaming method gets a clear rpcx error at once', async () => {
      const { stdout } = await run(peer, ['call', address, 'Ticker', 'Ticks'], { timeout: 10_000 });
      assert.equal(stdout, 'remote error: rpcx: Ticker.Ticks is a server-streaming method; call it with an rpcx-ts stream client\n');
    });

    it("Go's Stream gets a raw byte stream to the handler", async () => {
      const { stdout } = await run(peer, ['stream', address, 'ping']);
      assert.equal(stdout, 'hi go: ping');
    });
  });

  describe('rpcx-ts client → Go server', () => {
    let child: ChildProcess;
    let endpoint: string;
    let store: string;

    before(async () => {
      store = join(dir, 'go-store');
      mkdirSync(store);
      child = spawn(peer, ['server', store], { stdio: ['ignore', 'pipe', 'inherit'] });
      endpoint = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const match = /listening (\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`Go peer exited with ${code}`)));
      });
    });
    after(() => stopProcess(child));

    it('our sendFile is decoded by Go into FileTransferArgs and stored; downloadFile reads it back', async () => {
      const client = await Client.connect(endpoint, { logger: silentLogger });
      try {
        const content = randomBytes(700_000);
        const file = join(dir, 'from-ts.bin');
        writeFileSync(file, content);
        // The Go handler closes after storing; rpcx has no other acknowledgement.
        await client.sendFile(file, { by: 'ts' });
        assert.equal(readFileSync(join(store, 'from-ts.bin.args'), 'utf8'), `from-ts.bin ${content.length} map[by:ts]`);
        assert.deepEqual(readFileSync(join(store, 'from-ts.bin')), content);
        const copy = join(dir, 'back.bin');
        await client.downloadFile('from-ts.bin', copy);
        assert.deepEqual(readFileSync(copy), content);
      } finally {
        await client.close();
      }
    });

    it('our stream() reaches the Go stream handler as a raw byte stream', async () => {
      const client = await Client.connect(endpoint, { logger: silentLogger });
      try {
        const conn = await client.stream({ who: 'ts' });
        const got: Buffer[] = [];
        conn.on('data', (c: Buffer) => got.push(c));
        conn.end('ping');
        await new Promise((resolve) => conn.once('close', resolve));
        assert.equal(Buffer.concat(got).toString(), 'go heard map[who:ts]: ping');
      } finally {
        await client.close();
      }
    });
  });
});
