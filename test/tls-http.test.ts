/** tcp + TLS (and mutual TLS), and the http network (HTTP CONNECT), on loopback. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, ConnectionClosedError, DialError, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith } from '../examples/services/arith.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

async function serve(endpoint: string, options: Parameters<Server['serve']>[1] = {}): Promise<{ server: Server; address: string }> {
  const server = new Server({ logger: silentLogger });
  server.register(Arith);
  const listener = await server.serve(endpoint, options as Record<string, unknown>);
  return { server, address: listener.address };
}

describe('tcp + TLS', () => {
  let certs: TestCerts;
  let other: TestCerts;
  before(() => {
    certs = createTestCerts();
    other = createTestCerts();
  });
  after(() => {
    certs.cleanup();
    other.cleanup();
  });

  it('serves TLS to a client that trusts the CA', async () => {
    const { server, address } = await serve('tcp@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } });
    const client = await Client.connect(`tcp@${address}`, { tls: { ca: certs.caPem }, logger: silentLogger });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    await client.close();
    const byName = await Client.connect(`tcp@localhost:${address.split(':')[1]}`, { tls: { ca: certs.caPem }, logger: silentLogger });
    assert.deepEqual(await byName.call('Arith', 'Add', { A: 6, B: 7 }), { C: 13 });
    await byName.close();
    await server.close();
  });

  it('rejects a server whose certificate the client does not trust; insecure skips the check', async () => {
    const { server, address } = await serve('tcp@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } });
    await assert.rejects(Client.connect(`tcp@${address}`, { tls: { ca: other.caPem } }), (e: unknown) => e instanceof DialError && /certificate/i.test(e.message));
    await assert.rejects(Client.connect(`tcp@${address}`, { tls: {} }), DialError);
    const insecure = await Client.connect(`tcp@${address}`, { tls: { insecure: true }, logger: silentLogger });
    assert.deepEqual(await insecure.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
    await insecure.close();
    await server.close();
  });

  it('mutual TLS: requires and verifies a client certificate', async () => {
    const { server, address } = await serve('tcp@127.0.0.1:0', {
      tls: { cert: certs.certPem, key: certs.keyPem, ca: certs.caPem, requestCert: true },
    });
    const good = await Client.connect(`tcp@${address}`, { tls: { ca: certs.caPem, cert: certs.clientCertPem, key: certs.clientKeyPem }, logger: silentLogger });
    assert.deepEqual(await good.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
    await good.close();
    // Without a certificate, or with one from another CA, no call gets through (TLS 1.3 may report it on first use).
    for (const tls of [{ ca: certs.caPem }, { ca: certs.caPem, cert: other.clientCertPem, key: other.clientKeyPem }]) {
      const attempt = (async () => {
        const client = await Client.connect(`tcp@${address}`, { tls, logger: silentLogger });
        try {
          await client.call('Arith', 'Mul', { A: 1, B: 1 });
        } finally {
          await client.close();
        }
      })();
      await assert.rejects(attempt, (e: unknown) => e instanceof DialError || e instanceof ConnectionClosedError);
    }
    await server.close();
  });
});

describe('http network (HTTP CONNECT)', () => {
  let server: Server;
  let address: string;
  before(async () => {
    ({ server, address } = await serve('http@127.0.0.1:0'));
  });
  after(() => server.close());

  it('hands the socket over to binary rpcx after CONNECT', async () => {
    const client = await Client.connect(`http@${address}`, { logger: silentLogger });
    const calls = Array.from({ length: 200 }, (_, i) => client.call<{ C: number }>('Arith', 'Mul', { A: i, B: 2 }));
    (await Promise.all(calls)).forEach((r, i) => assert.equal(r.C, i * 2));
    await client.close();
  });

  it("answers exactly rpcx's handshake bytes", async () => {
    const [host, port] = address.split(':');
    const socket = net.connect({ host: host!, port: Number(port) });
    socket.write('CONNECT /_rpcx_ HTTP/1.0\n\n');
    const answer = await new Promise<string>((resolve) => socket.once('data', (c) => resolve(c.toString('latin1'))));
    assert.equal(answer, 'HTTP/1.0 200 Connected to rpcx\n\n');
    socket.destroy();
  });

  it('answers 405 to other methods on /_rpcx_ and 404 elsewhere', async () => {
    const get = await fetch(`http://${address}/_rpcx_`);
    assert.equal(get.status, 405);
    assert.equal(await get.text(), '405 must CONNECT\n');
    const post = await fetch(`http://${address}/_rpcx_`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal((await fetch(`http://${address}/other`)).status, 404);
  });

  it('fails to dial an HTTP server that does not speak rpcx', async () => {
    const plain = http.createServer((_req, res) => res.end('hello'));
    plain.on('connect', (_req, socket: net.Socket) => socket.end('HTTP/1.0 403 Forbidden\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as net.AddressInfo).port;
    await assert.rejects(Client.connect(`http@127.0.0.1:${port}`), (e: unknown) => e instanceof DialError && /unexpected HTTP response/.test(e.message));
    plain.closeAllConnections();
    plain.close();
  });
});
