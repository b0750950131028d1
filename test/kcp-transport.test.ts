import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, KcpDeadLinkError, KcpIdleTimeoutError } from '../errors.js';
import { KcpListener, KcpSession, kcpTransport } from '../transport/kcp.js';
import type { Conn, Listener } from '../transport/transport.js';
import { echoBulk, echoRun, startEchoServer } from './helpers/kcp-echo.js';
import { until } from './helpers/until.js';

const listeners: Listener[] = [];
const conns: Conn[] = [];
const servers: { conns: Conn[] }[] = [];
after(async () => {
  for (const c of conns) c.destroy();
  for (const s of servers) for (const c of s.conns) c.destroy();
  for (const l of listeners) await l.close();
});

async function echoPair(options: Record<string, unknown>, clientOptions: Record<string, unknown> = options) {
  const server = await startEchoServer(options);
  listeners.push(server.listener);
  servers.push(server);
  const conn = (await kcpTransport.dial('kcp', server.listener.address, clientOptions)) as KcpSession;
  conns.push(conn);
  return { server, conn };
}

describe('kcp transport over UDP (ours <-> ours)', { timeout: 60_000 }, () => {
  const cases: [string, Record<string, unknown>][] = [
    ['plain, no FEC', { kcpDataShards: 0, kcpParityShards: 0 }],
    ['FEC 10/3 (default)', {}],
    ['AES + FEC 10/3', { kcpKey: 'rpcx-key' }],
    ['kcp-go "none" crypt, no FEC', { kcpCrypt: 'none', kcpDataShards: 0, kcpParityShards: 0 }],
  ];
  for (const [name, options] of cases) {
    it(`delivers 1000 messages in order under 10% packet loss (${name})`, async () => {
      const lossy = { ...options, kcpDropRate: 0.1 };
      const { server, conn } = await echoPair(lossy);
      const rate = await echoRun(conn, 1000, 200, 50, 30_000);
      const stats = conn.stats;
      assert.ok(stats.kcp.lostSegs + stats.kcp.fastRetransSegs + stats.kcp.earlyRetransSegs + (stats.fec?.recovered ?? 0) > 0, 'losses were repaired');
      assert.equal(server.conns.length, 1);
      if (options.kcpDataShards !== 0) assert.ok((stats.fec?.recovered ?? 0) > 0, 'FEC recovered some datagrams');
      console.log(`  ${name}: ${rate.toFixed(0)} calls/s with 10% loss, srtt ${stats.srtt} ms`);
    });
  }

  it('carries large writes intact (4 MiB in one write)', async () => {
    const { conn } = await echoPair({ kcpKey: 'k' });
    const big = Buffer.alloc(4 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) >>> 3;
    assert.ok((await echoBulk(conn, big)).equals(big));
  });

  it('copies written bytes at once (writeReleased), so a writer may reuse its buffer right after write()', async () => {
    const { conn } = await echoPair({ kcpKey: 'k' });
    const buffer = Buffer.alloc(10_000, 0x61);
    const echoed = echoBulk(conn, buffer);
    assert.equal(conn.writeReleased(), true);
    buffer.fill(0x62); // the caller reuses its buffer before anything went out
    assert.ok((await echoed).equals(Buffer.alloc(10_000, 0x61)));
  });

  it('signals backpressure with write() false and drains', async () => {
    const { conn } = await echoPair({ kcpSndWnd: 32, kcpDataShards: 0, kcpParityShards: 0 });
    conn.onData(() => {});
    let full = false;
    for (let i = 0; i < 100 && !full; i++) full = !conn.write(Buffer.alloc(1400));
    assert.ok(full, 'write returned false once the send window is full');
    await new Promise<void>((resolve) => conn.onDrain(resolve));
  });

  it('end() flushes then releases both the client socket and, after idle expiry, the server session', async () => {
    const server = await startEchoServer({ kcpIdleTimeoutMs: 300 });
    listeners.push(server.listener);
    const conn = await kcpTransport.dial('kcp', server.listener.address, {});
    let echoed = 0;
    conn.onData((c) => (echoed += c.length));
    conn.write(Buffer.alloc(5000, 1));
    await until(() => echoed === 5000, '5000 echoes', 5000);
    const closed = new Promise<Error | undefined>((resolve) => conn.onClose(resolve));
    conn.end();
    assert.equal(await closed, undefined);
    assert.ok(conn.closed);
    const kl = server.listener as KcpListener;
    assert.equal(kl.sessionCount, 1);
    const serverClosed = new Promise<Error | undefined>((resolve) => server.conns[0]!.onClose(resolve));
    const error = await serverClosed;
    assert.ok(error instanceof KcpIdleTimeoutError);
    assert.equal(error.code, 'ERR_RPCX_KCP_IDLE_TIMEOUT');
    assert.equal(kl.sessionCount, 0);
  });

  it('ignores stale datagrams of a released session instead of accepting a broken one', async () => {
    const server = await startEchoServer({});
    listeners.push(server.listener);
    servers.push(server);
    const conn = (await kcpTransport.dial('kcp', server.listener.address, {})) as KcpSession;
    conns.push(conn);
    let echoed = 0;
    conn.onData((c) => (echoed += c.length));
    conn.write(Buffer.alloc(100));
    await until(() => echoed === 100, '100 echoes', 5000);
    server.conns[0]!.destroy();
    await sleep(10);
    const closed = new Promise<Error | undefined>((resolve) => conn.onClose(resolve));
    conn.write(Buffer.alloc(100)); // the server no longer knows this conversation
    const error = await closed;
    assert.ok(error instanceof KcpDeadLinkError, String(error));
    assert.equal(server.conns.length, 1, 'no new session was accepted');
  });

  it('listener close() stops accepting but leaves accepted sessions working', async () => {
    const { server, conn } = await echoPair({});
    await echoRun(conn, 10, 10, 10, 5000);
    await server.listener.close();
    const late = (await kcpTransport.dial('kcp', server.listener.address, { kcpIdleTimeoutMs: 300 })) as KcpSession;
    conns.push(late);
    late.write(Buffer.alloc(10));
    const echoedAgain = echoRun(conn, 10, 10, 10, 5000);
    await echoedAgain;
    assert.equal(server.conns.length, 1);
  });

  it('rejects bad options with ConfigError', async () => {
    await assert.rejects(kcpTransport.dial('kcp', '127.0.0.1:1', { kcpDataShards: 3, kcpParityShards: 0 }), ConfigError);
    await assert.rejects(kcpTransport.dial('kcp', '127.0.0.1:1', { kcpCrypt: 'aes' }), ConfigError);
    await assert.rejects(kcpTransport.dial('kcp', '127.0.0.1:1', { kcpCrypt: 'des' }), ConfigError);
    await assert.rejects(kcpTransport.listen('kcp', '127.0.0.1:0', { kcpInterval: 1 }, () => {}), ConfigError);
  });
});
