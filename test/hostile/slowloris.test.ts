/**
 * Slow and silent peers on a shared port: silent connections, half an HTTP head, a body shorter than its
 * Content-Length, a binary frame dripped one byte at a time, an idle keep-alive connection. Each is closed after its
 * timeout (set short here through `limits`) while a good client keeps being served.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closesWithin, goodClient, rawSocket, ServerProcess } from './harness.js';

describe('hostile: slow and silent connections', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({
      endpoints: ['tcp@127.0.0.1:0'],
      limits: { frameTimeoutMs: 800, httpHeadersTimeoutMs: 800, httpRequestTimeoutMs: 1200, httpKeepAliveTimeoutMs: 600 },
    });
  });
  after(() => server.stop());

  async function open(count: number, first?: (s: net.Socket, i: number) => void): Promise<net.Socket[]> {
    const { host, port } = server.address();
    const sockets: net.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const s = await rawSocket(host, port);
      s.on('error', () => undefined);
      first?.(s, i);
      sockets.push(s);
    }
    return sockets;
  }

  async function countOpenAfter(sockets: net.Socket[], ms: number): Promise<number> {
    const closed = await Promise.all(sockets.map((s) => closesWithin(s, ms)));
    for (const s of sockets) s.destroy();
    return closed.filter((c) => !c).length;
  }

  it('closes every slow or silent connection after its timeout, and serves a good client meanwhile', async () => {
    const good = await goodClient(server.address().endpoint);
    const silent = await open(200);
    const halfHead = await open(200, (s) => s.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    const shortBody = await open(100, (s) =>
      s.write('POST / HTTP/1.1\r\nHost: x\r\nX-RPCX-ServicePath: Echo\r\nX-RPCX-ServiceMethod: Echo\r\nContent-Length: 100\r\n\r\n0123456789'),
    );
    const dripping = await open(200, (s) => s.write(Buffer.from([0x08])));
    const drip = setInterval(() => {
      for (const s of dripping) if (!s.destroyed) s.write(Buffer.from([0]));
    }, 200);
    const keepAlive = await open(50, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
    const [openSilent, openHalf, openShort, openDrip, openKeepAlive] = await Promise.all([
      countOpenAfter(silent, 6000),
      countOpenAfter(halfHead, 6000),
      countOpenAfter(shortBody, 6000),
      countOpenAfter(dripping, 6000),
      countOpenAfter(keepAlive, 6000),
    ]);
    clearInterval(drip);
    const latency = await good.stop();
    const stats = await server.stats();
    console.log(`slow peers: still open after their timeouts: silent ${openSilent}/200, half head ${openHalf}/200, short body ${openShort}/100, dripping ${openDrip}/200, idle keep-alive ${openKeepAlive}/50; good client p99 ${latency.p99.toFixed(1)} ms`);
    assert.deepEqual([openSilent, openHalf, openShort, openDrip, openKeepAlive], [0, 0, 0, 0, 0]);
    assert.equal(latency.errors, 0);
    assert.equal(stats.connections + stats.httpConnections, 0);
  });
});
