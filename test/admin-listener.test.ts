/**
 * The builtin pages on an admin listener of their own (ServerOptions.admin, Server.serveAdmin): served there, gone from
 * the public port, auth applied unless `admin.auth` is false, nothing but pages answered there; on real sockets.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, ConfigError, Server } from '../index.js';
import { Echo } from '../examples/services/index.js';
import { silentLogger } from '../logger.js';
import { SerializeType } from '../protocol/constants.js';
import { httpRequest } from './helpers/http.js';
import { createTestCerts } from './helpers/tls-certs.js';

const PAGES = ['/status', '/connections', '/metrics', '/rpcz', '/health', '/dashboard'];

function unixGet(socketPath: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
  });
}

function refused(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('admin listener', () => {
  const servers: Server[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close({ timeoutMs: 0 })));
  });

  it('admin.listen: the first serve() opens it; pages move there, the public port keeps calls and the gateway', async () => {
    const server = new Server({ logger: silentLogger, rpcz: true, admin: { listen: 'tcp@127.0.0.1:0' } });
    servers.push(server);
    server.register(Echo);
    const listener = await server.serve('tcp@127.0.0.1:0');
    assert.equal(server.adminAddresses.length, 1);
    const admin = server.adminAddresses[0]!.replace(/^tcp@/, '');
    assert.notEqual(admin, listener.address);
    assert.deepEqual(server.addresses, [`tcp@${listener.address}`], 'the admin listener is not a service address');
    for (const page of PAGES) {
      assert.equal((await httpRequest(`http://${admin}${page}`)).status, 200, `${page} on the admin listener`);
      assert.equal((await httpRequest(`http://${listener.address}${page}`)).status, 404, `${page} on the public port`);
    }
    const status = JSON.parse((await httpRequest(`http://${admin}/status`)).text) as {
      server: { addresses: string[]; adminAddresses?: string[] };
      services: Array<{ name: string }>;
    };
    assert.ok(status.services.some((s) => s.name === 'Echo'));
    assert.deepEqual(status.server.adminAddresses, server.adminAddresses, '/status names the admin address');
    const flags = JSON.parse((await httpRequest(`http://${admin}/flags`)).text) as { adminListeners?: string[] };
    assert.deepEqual(flags.adminListeners, server.adminAddresses, '/flags names the admin address');
    // The public port still serves binary calls and the gateway.
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    assert.equal(await client.call('Echo', 'Echo', 'hi', { serializeType: SerializeType.JSON }), 'hi');
    await client.close();
    const gatewayHeaders = { 'X-RPCX-ServicePath': 'Echo', 'X-RPCX-ServiceMethod': 'Echo', 'X-RPCX-SerializeType': '1', 'X-RPCX-MessageID': '1' };
    const viaGateway = await httpRequest(`http://${listener.address}/`, { body: '"gw"', headers: gatewayHeaders });
    assert.equal(viaGateway.status, 200);
    assert.equal(viaGateway.text, '"gw"');
    // The admin listener answers pages only: no gateway, no JSON-RPC, no binary rpcx.
    assert.equal((await httpRequest(`http://${admin}/`, { body: '"gw"', headers: gatewayHeaders })).status, 404);
    const jsonRpc = await httpRequest(`http://${admin}/`, { body: '{"jsonrpc":"2.0","id":1,"method":"Echo.Echo","params":"x"}', headers: { 'X-JSONRPC-2.0': 'true' } });
    assert.equal(jsonRpc.status, 404);
    await assert.rejects(Client.connect(`tcp@${admin}`, { logger: silentLogger, timeoutMs: 2000 }).then((c) => c.call('Echo', 'Echo', 'x', { serializeType: SerializeType.JSON, timeoutMs: 2000 })));
    await server.close({ timeoutMs: 0 });
    assert.ok(await refused(admin), 'close() closes the admin listener');
  });

  it('auth guards the admin pages (but /health); admin.auth false opens them; pages still turn off one by one', async () => {
    const auth = (token: string | undefined): boolean => token === 'secret';
    const guarded = new Server({ logger: silentLogger, auth, admin: { listen: 'tcp@127.0.0.1:0' } });
    const open = new Server({ logger: silentLogger, auth, admin: { listen: 'tcp@127.0.0.1:0', auth: false }, pages: { connections: false } });
    servers.push(guarded, open);
    for (const s of [guarded, open]) {
      s.register(Echo);
      await s.serve('tcp@127.0.0.1:0');
    }
    const g = `http://${guarded.adminAddresses[0]!.replace(/^tcp@/, '')}`;
    const o = `http://${open.adminAddresses[0]!.replace(/^tcp@/, '')}`;
    for (const page of ['/status', '/connections', '/metrics', '/dashboard']) {
      assert.equal((await httpRequest(g + page)).status, 401, `${page} without a token`);
      assert.equal((await httpRequest(g + page, { headers: { Authorization: 'secret' } })).status, 200, `${page} with the token`);
    }
    assert.equal((await httpRequest(g + '/dashboard?token=secret')).status, 200);
    assert.equal((await httpRequest(g + '/health')).status, 200);
    for (const page of ['/status', '/metrics', '/dashboard', '/health']) assert.equal((await httpRequest(o + page)).status, 200, `${page} open`);
    assert.equal((await httpRequest(o + '/connections')).status, 404, 'turned off by the pages option');
    // The public port of the open one still refuses calls without a token: admin.auth is about the pages only.
    const publicAddress = open.addresses[0]!.replace(/^tcp@/, '');
    const client = await Client.connect(`tcp@${publicAddress}`, { logger: silentLogger });
    await assert.rejects(client.call('Echo', 'Echo', 'x', { serializeType: SerializeType.JSON }));
    await client.close();
  });

  it('serveAdmin on a unix socket takes the pages off a public port that served them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-admin-'));
    try {
      const server = new Server({ logger: silentLogger });
      servers.push(server);
      server.register(Echo);
      const listener = await server.serve('tcp@127.0.0.1:0');
      assert.equal((await httpRequest(`http://${listener.address}/status`)).status, 200, 'served publicly before');
      const socketPath = join(dir, 'admin.sock');
      const admin = await server.serveAdmin(`unix@${socketPath}`);
      assert.equal(admin.address, socketPath);
      assert.equal((await unixGet(socketPath, '/health')).status, 200);
      assert.match((await unixGet(socketPath, '/metrics')).text, /rpcx_/);
      assert.equal((await httpRequest(`http://${listener.address}/status`)).status, 404, 'gone from the public port');
      await server.close({ timeoutMs: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('admin.tls serves the pages over HTTPS', async () => {
    const certs = createTestCerts();
    try {
      const server = new Server({ logger: silentLogger, admin: { listen: 'tcp@127.0.0.1:0', tls: { cert: certs.certPem, key: certs.keyPem } } });
      servers.push(server);
      server.register(Echo);
      await server.serve('tcp@127.0.0.1:0');
      const admin = server.adminAddresses[0]!.replace(/^tcp@/, '');
      const page = await httpRequest(`https://${admin}/status`, { ca: certs.caPem });
      assert.equal(page.status, 200);
      await assert.rejects(httpRequest(`http://${admin}/status`, { timeoutMs: 2000 }), 'plain HTTP is not served there');
      await server.close({ timeoutMs: 0 });
    } finally {
      certs.cleanup();
    }
  });

  it('the HTTP timeouts hold on the admin listener: a silent connection is closed', async () => {
    const server = new Server({ logger: silentLogger, admin: { listen: 'tcp@127.0.0.1:0' }, limits: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 300 } });
    servers.push(server);
    await server.serve('tcp@127.0.0.1:0');
    const admin = server.adminAddresses[0]!.replace(/^tcp@/, '');
    const socket = net.connect({ host: '127.0.0.1', port: Number(admin.slice(admin.lastIndexOf(':') + 1)) });
    socket.on('error', () => undefined);
    socket.resume();
    const started = performance.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 10_000, `closed after ${Math.round(elapsed)} ms`);
  });

  it('refuses networks that cannot carry the pages', async () => {
    const server = new Server({ logger: silentLogger });
    servers.push(server);
    await assert.rejects(server.serveAdmin('kcp@127.0.0.1:0'), ConfigError);
    await assert.rejects(server.serveAdmin('ws@127.0.0.1:0'), ConfigError);
  });
});
