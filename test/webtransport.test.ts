/**
 * The `wt` network beyond the shared network suite: TLS rules (mandatory on the server; the client trusts a private
 * CA or pinned certificate hashes and refuses what it cannot honour), paths, dial failures, and a package load that
 * stays quiet when the optional HTTP/3 part is not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, DialError, SerializeType, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith } from '../examples/services/index.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { Message } from '../protocol/message.js';
import { loadWebTransport, webTransportTransport } from '../transport/webtransport.js';
import { WEBTRANSPORT_WINDOWS, type WebTransportSessionLike } from '../transport/webtransport-conn.js';
import { distDir } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

const run = promisify(execFile);

/** A raw WebTransport session from the package's Node client, trusting the test certificate by its hash. */
async function openSession(address: string): Promise<WebTransportSessionLike> {
  const { pkg } = await loadWebTransport();
  const fingerprint = new X509Certificate(certs.certPem).fingerprint256.split(':').map((h) => parseInt(h, 16));
  const session = new pkg.WebTransport(`https://${address}/_rpcx_`, {
    ...WEBTRANSPORT_WINDOWS,
    forceReliable: true,
    serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(fingerprint) }],
  });
  await session.ready;
  return session;
}

function mul(seq: number, A: number, B: number): Uint8Array {
  const payload = Buffer.from(JSON.stringify({ A, B }));
  return new Message({ serializeType: SerializeType.JSON, seq, servicePath: 'Arith', serviceMethod: 'Mul', payload }).encode();
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let certs: TestCerts;

describe('wt network', () => {
  let server: Server;
  let endpoint: string;

  before(async () => {
    certs = createTestCerts();
    server = new Server({ logger: silentLogger });
    server.register(Arith);
    const listener = await server.serve('wt@127.0.0.1:0/rpc/arith', { tls: { cert: certs.certPem, key: certs.keyPem } });
    assert.match(listener.address, /^127\.0\.0\.1:\d+\/rpc\/arith$/);
    endpoint = `wt@${listener.address}`;
  });

  after(async () => {
    await server?.close();
    certs?.cleanup();
  });

  it('serves a custom path; the default path is then not served', async () => {
    const client = await Client.connect(endpoint, { tls: { ca: certs.caPem }, logger: silentLogger });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    await client.close();
    const hostPort = endpoint.slice('wt@'.length, endpoint.indexOf('/'));
    await assert.rejects(Client.connect(`wt@${hostPort}`, { tls: { ca: certs.caPem }, logger: silentLogger, connectTimeoutMs: 3000 }), DialError);
  });

  it('accepts a pinned certificate hash instead of a CA (as browsers do for self-signed servers)', async () => {
    const fingerprint = new X509Certificate(certs.certPem).fingerprint256.split(':').map((h) => parseInt(h, 16));
    const client = await Client.connect(endpoint, {
      logger: silentLogger,
      transport: { wtCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(fingerprint) }] },
    });
    assert.deepEqual(await client.call('Arith', 'Add', { A: 1, B: 2 }), { C: 3 });
    await client.close();
  });

  it('refuses a server its CA did not sign, and TLS settings the package cannot honour', async () => {
    const stranger = createTestCerts();
    try {
      await assert.rejects(Client.connect(endpoint, { tls: { ca: stranger.caPem }, logger: silentLogger, connectTimeoutMs: 3000 }), DialError);
      await assert.rejects(Client.connect(endpoint, { logger: silentLogger, connectTimeoutMs: 3000 }), DialError, 'not in the system trust store');
    } finally {
      stranger.cleanup();
    }
    await assert.rejects(Client.connect(endpoint, { tls: { insecure: true }, logger: silentLogger }), { code: 'ERR_RPCX_CONFIG' });
    await assert.rejects(Client.connect(endpoint, { tls: { ca: certs.caPem, servername: 'other' }, logger: silentLogger }), { code: 'ERR_RPCX_CONFIG' });
  });

  it('needs TLS to listen and refuses client certificates', async () => {
    await assert.rejects(webTransportTransport.listen('wt', '127.0.0.1:0', {}, () => {}), { code: 'ERR_RPCX_CONFIG' });
    await assert.rejects(
      webTransportTransport.listen('wt', '127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem, requestCert: true } }, () => {}),
      { code: 'ERR_RPCX_CONFIG' },
    );
  });

  it('fails a dial to a closed port, and an aborted dial, with DialError', async () => {
    const port = await freePort();
    await assert.rejects(Client.connect(`wt@127.0.0.1:${port}`, { tls: { ca: certs.caPem }, logger: silentLogger, connectTimeoutMs: 3000 }), DialError);
    const controller = new AbortController();
    const dialing = Client.connect(endpoint, { tls: { ca: certs.caPem }, logger: silentLogger, signal: controller.signal });
    controller.abort();
    await assert.rejects(dialing, (error: Error) => error instanceof DialError && /aborted/.test(error.message));
  });

  it('runs rpcx on the first stream of a session and refuses a second one; the first keeps working', async () => {
    const listener = await server.serve('wt@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } });
    const session = await openSession(listener.address);
    try {
      const replies: Message[] = [];
      const first = await session.createBidirectionalStream();
      const firstWriter = first.writable.getWriter();
      const parser = new FrameParser((m) => replies.push(m));
      void (async () => {
        const reader = first.readable.getReader();
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
          if (done) return;
          parser.push(value);
        }
      })();
      await firstWriter.write(mul(1, 6, 7));
      await until(() => replies.length === 1);
      const second = await session.createBidirectionalStream();
      const secondWriter = second.writable.getWriter();
      await secondWriter.write(mul(2, 2, 2));
      const outcome = await second.readable
        .getReader()
        .read()
        .then(
          ({ done }) => (done ? 'ended' : 'data'),
          () => 'reset',
        );
      assert.notEqual(outcome, 'data', 'the second stream got no answer');
      await firstWriter.write(mul(3, 3, 5));
      await until(() => replies.length === 2);
      assert.deepEqual(
        replies.map((r) => [r.seq, JSON.parse(Buffer.from(r.payload).toString())]),
        [
          [1, { C: 42 }],
          [3, { C: 15 }],
        ],
      );
    } finally {
      session.close();
      await listener.close();
    }
  });

  it('closes sessions that never opened a stream when the listener closes', async () => {
    const other = new Server({ logger: silentLogger });
    const listener = await other.serve('wt@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } });
    const session = await openSession(listener.address);
    const closed = session.closed.then(
      () => 'closed',
      () => 'closed',
    );
    // Without that, the HTTP/2 server would wait for the session forever and the server's close() would never end.
    const both = Promise.all([other.close(), closed]).then(() => 'closed');
    const timer = new Promise((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000).unref());
    assert.equal(await Promise.race([both, timer]), 'closed');
  });

  it('loads the package without console noise about the optional HTTP/3 part', async () => {
    const script = `const { loadWebTransport } = await import(${JSON.stringify(join(distDir, 'transport', 'webtransport.js'))}); const { http3 } = await loadWebTransport(); process.stdout.write('http3=' + http3);`;
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    assert.equal(stdout, 'http3=false');
    assert.equal(stderr, '');
  });
});
