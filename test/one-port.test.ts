/**
 * One port, every protocol at once: binary rpcx clients, rpcx over HTTP CONNECT, the HTTP gateway, JSON-RPC 2.0 and
 * the builtin pages, all concurrently on one tcp listener; then the same over TLS on that port.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Server, type TlsOptions } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith, Echo } from '../examples/services/index.js';
import { httpRequest, jsonRpc } from './helpers/http.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

interface Setup {
  server: Server;
  address: string;
  scheme: 'http' | 'https';
  clientTls?: TlsOptions;
  ca?: string;
}

async function everythingAtOnce(setup: Setup): Promise<void> {
  const { address, scheme, clientTls, ca } = setup;
  const base = `${scheme}://${address}`;
  const tlsOption = clientTls ? { tls: clientTls } : {};
  const agent = scheme === 'https' ? new https.Agent({ keepAlive: true, maxSockets: 6, ca: ca! }) : new http.Agent({ keepAlive: true, maxSockets: 6 });

  const binary = await Promise.all([0, 1].map(() => Client.connect(`tcp@${address}`, { logger: silentLogger, ...tlsOption })));
  const viaConnect = await Client.connect(`http@${address}`, { logger: silentLogger, ...tlsOption });

  const work: Array<Promise<void>> = [];
  // Binary rpcx: 300 calls on two connections.
  for (let i = 0; i < 300; i++) {
    const client = binary[i % 2]!;
    work.push(client.call<{ C: number }>('Arith', 'Mul', { A: i, B: 2 }).then((r) => assert.equal(r.C, i * 2)));
  }
  // rpcx after HTTP CONNECT on the same port.
  for (let i = 0; i < 100; i++) {
    work.push(viaConnect.call<{ C: number }>('Arith', 'Add', { A: i, B: 1000 }).then((r) => assert.equal(r.C, i + 1000)));
  }
  // The HTTP gateway.
  for (let i = 0; i < 60; i++) {
    work.push(
      httpRequest(base, {
        method: 'POST',
        agent,
        headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-MessageID': String(i) },
        body: JSON.stringify({ A: i, B: 5 }),
      }).then((r) => {
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-rpcx-messageid'], String(i));
        assert.deepEqual(JSON.parse(r.text), { C: i * 5 });
      }),
    );
  }
  // JSON-RPC batches.
  for (let i = 0; i < 30; i++) {
    work.push(
      jsonRpc(base, [
        { jsonrpc: '2.0', method: 'Arith.Add', params: { A: i, B: 1 }, id: `a${i}` },
        { jsonrpc: '2.0', method: 'Echo.Echo', params: { i }, id: `e${i}` },
      ], { agent }).then(({ status, json }) => {
        assert.equal(status, 200);
        assert.deepEqual(json, [
          { jsonrpc: '2.0', result: { C: i + 1 }, id: `a${i}` },
          { jsonrpc: '2.0', result: { i }, id: `e${i}` },
        ]);
      }),
    );
  }
  // Pages.
  for (let i = 0; i < 10; i++) {
    work.push(httpRequest(`${base}/health`, { agent }).then((r) => assert.deepEqual([r.status, JSON.parse(r.text)], [200, { status: 'ok' }])));
    work.push(
      httpRequest(`${base}/status`, { agent }).then((r) => {
        assert.equal(r.status, 200);
        const status = JSON.parse(r.text) as { services: Array<{ name: string }> };
        assert.deepEqual(status.services.map((s) => s.name).sort(), ['Arith', 'Echo']);
      }),
    );
  }
  work.push(httpRequest(`${base}/metrics`, { agent }).then((r) => assert.match(r.text, /rpcx_server_calls_total/)));

  await Promise.all(work);

  // Every binary connection is still usable and the pages saw each kind of connection.
  assert.deepEqual(await binary[0]!.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
  const connections = JSON.parse((await httpRequest(`${base}/connections`, { agent })).text) as { connections: Array<{ protocol: string; requests: number }> };
  const protocols = new Set(connections.connections.map((c) => c.protocol));
  assert.ok(protocols.has('rpcx') && protocols.has('http'), `both kinds listed: ${[...protocols].join(',')}`);
  const rpcxRequests = connections.connections.filter((c) => c.protocol === 'rpcx').reduce((n, c) => n + c.requests, 0);
  assert.ok(rpcxRequests >= 401, `binary requests counted: ${rpcxRequests}`);

  const status = JSON.parse((await httpRequest(`${base}/status`, { agent })).text) as { services: Array<{ name: string; methods: Array<{ name: string; calls: number }> }> };
  const mul = status.services.find((s) => s.name === 'Arith')!.methods.find((m) => m.name === 'Mul')!;
  assert.ok(mul.calls >= 361, `Arith.Mul calls counted across protocols: ${mul.calls}`);

  agent.destroy();
  await Promise.all([...binary, viaConnect].map((c) => c.close()));
}

describe('one port, every protocol', () => {
  it('serves binary, CONNECT, gateway, JSON-RPC and pages concurrently on one tcp port', async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Arith);
    server.register(Echo);
    const listener = await server.serve('tcp@127.0.0.1:0');
    await everythingAtOnce({ server, address: listener.address, scheme: 'http' });
    await server.close();
  });

  it('answers the CONNECT handshake with rpcx exact bytes and then speaks binary', async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Arith);
    const listener = await server.serve('tcp@127.0.0.1:0');
    const [host, port] = listener.address.split(':');
    const socket = net.connect({ host: host!, port: Number(port) });
    // Split the request line across writes: the sniffer must wait for the whole head.
    socket.write('CONN');
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write('ECT /_rpcx_ HTTP/1.0\n\n');
    const answer = await new Promise<string>((resolve) => socket.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    assert.equal(answer, 'HTTP/1.0 200 Connected to rpcx\n\n');
    socket.destroy();
    await server.close();
  });

  it('serves only binary rpcx when every HTTP protocol is turned off', async () => {
    const server = new Server({ logger: silentLogger, httpGateway: false, jsonRPC: false, pages: false });
    server.register(Arith);
    const listener = await server.serve('tcp@127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 2, B: 21 }), { C: 42 });
    await assert.rejects(httpRequest(`http://${listener.address}/health`));
    await client.close();
    await server.close();
  });

  describe('with TLS on the port', () => {
    let certs: TestCerts;
    before(() => {
      certs = createTestCerts();
    });
    after(() => certs.cleanup());

    it('serves every protocol inside TLS on one port', async () => {
      const server = new Server({ logger: silentLogger });
      server.register(Arith);
      server.register(Echo);
      const listener = await server.serve('tcp@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } });
      await everythingAtOnce({ server, address: listener.address, scheme: 'https', clientTls: { ca: certs.caPem }, ca: certs.caPem });
      await server.close();
    });
  });
});
