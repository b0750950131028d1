/**
 * Interoperability with the real xtaci/kcp-go (the library rpcx's KCP transport uses), through the echo peer in
 * test/peers/kcp-echo. Fails (never skips) when Go is missing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KcpSession, kcpTransport, type KcpListener } from '../transport/kcp.js';
import { CMD_PUSH, KCP_OVERHEAD, readU16, readU32 } from '../transport/kcp/segment.js';
import { TYPE_DATA } from '../transport/kcp/fec.js';
import type { Conn } from '../transport/transport.js';
import { echoRun, startEchoServer } from './helpers/kcp-echo.js';
import { buildPeer, removePeerBuild, startPeer, startPeerServer, type PeerProcess } from './helpers/kcp-peer.js';

const peers: PeerProcess[] = [];
const conns: Conn[] = [];
after(async () => {
  for (const c of conns) c.destroy();
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => p.exited));
  removePeerBuild();
});

async function peerServer(args: string[]): Promise<string> {
  const peer = await startPeerServer(args);
  peers.push(peer);
  return peer.address;
}

async function dial(address: string, options: Record<string, unknown>): Promise<KcpSession> {
  const conn = (await kcpTransport.dial('kcp', address, options)) as KcpSession;
  conns.push(conn);
  return conn;
}

/** True when a plain (no crypt, no FEC) KCP datagram holds at least one data (PUSH) segment. */
function carriesPush(datagram: Uint8Array): boolean {
  for (let at = 0; at + KCP_OVERHEAD <= datagram.length; at += KCP_OVERHEAD + readU32(datagram, at + 20)) {
    if (datagram[at + 4] === CMD_PUSH) return true;
  }
  return false;
}

describe('kcp interop with kcp-go', { timeout: 240_000 }, () => {
  it('builds the kcp-go peer (needs Go; fails with instructions when it is missing)', { timeout: 200_000 }, () => {
    assert.ok(buildPeer());
  });

  it('(a) plain KCP (no crypt, no FEC): our client <-> kcp-go echo server', { timeout: 60_000 }, async () => {
    const address = await peerServer([]);
    const conn = await dial(address, { kcpDataShards: 0, kcpParityShards: 0 });
    const rate = await echoRun(conn, 2000, 1024, 100, 30_000);
    console.log(`  plain ours->kcp-go: ${rate.toFixed(0)} calls/s (1 KiB, 100 outstanding)`);
    assert.equal(conn.stats.packets.inErrors, 0);
  });

  it('(a2) plain KCP losing every 10th datagram both ways: retransmissions interoperate', { timeout: 60_000 }, async () => {
    const address = await peerServer([]);
    const seen = { in: 0, out: 0 };
    const droppedData = { in: 0, out: 0 };
    const conn = await dial(address, {
      kcpDataShards: 0,
      kcpParityShards: 0,
      kcpDropPacket: (direction: 'in' | 'out', datagram: Uint8Array) => {
        if (++seen[direction] % 10 !== 0) return false;
        if (carriesPush(datagram)) droppedData[direction]++;
        return true;
      },
    });
    // echoRun checks every echo arrives intact and in order: each data datagram dropped on the way in had to be
    // retransmitted by kcp-go, each dropped on the way out retransmitted by us and accepted by kcp-go.
    await echoRun(conn, 1000, 1024, 50, 45_000);
    const s = conn.stats.kcp;
    console.log(`  dropped data datagrams: ${droppedData.in} in, ${droppedData.out} out; retransmitted ${s.lostSegs + s.fastRetransSegs + s.earlyRetransSegs}`);
    assert.ok(droppedData.in > 10, `kcp-go data datagrams dropped: ${droppedData.in}`);
    assert.ok(droppedData.out > 10, `our data datagrams dropped: ${droppedData.out}`);
    assert.ok(s.lostSegs + s.fastRetransSegs + s.earlyRetransSegs >= droppedData.out, 'we retransmitted at least what we lost');
  });

  it('(a3) a 1 MiB message through kcp-go and back', { timeout: 60_000 }, async () => {
    const address = await peerServer([]);
    const conn = await dial(address, { kcpDataShards: 0, kcpParityShards: 0 });
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >>> 9)) & 255;
    const chunks: Uint8Array[] = [];
    let total = 0;
    const done = new Promise<void>((resolve) =>
      conn.onData((c) => {
        chunks.push(c);
        total += c.length;
        if (total >= big.length) resolve();
      }),
    );
    conn.write(big);
    await done;
    assert.ok(Buffer.concat(chunks).equals(big));
  });

  it('(b) AES + FEC 10/3, dropping some of the peer datagrams: recovered from its parity', { timeout: 60_000 }, async () => {
    const address = await peerServer(['-crypt', 'aes', '-ds', '10', '-ps', '3']);
    let dataSeen = 0;
    let dropped = 0;
    const conn = await dial(address, {
      kcpKey: 'rpcx-key',
      kcpDataShards: 10,
      kcpParityShards: 3,
      // Lose every 7th incoming FEC data datagram: at most 2 per 13-datagram group, all recoverable from parity.
      kcpDropPacket: (direction: 'in' | 'out', datagram: Uint8Array) => {
        if (direction !== 'in' || datagram.length < 8 || readU16(datagram, 4) !== TYPE_DATA) return false;
        if (++dataSeen % 7 !== 0) return false;
        dropped++;
        return true;
      },
    });
    const rate = await echoRun(conn, 3000, 1024, 100, 45_000);
    const stats = conn.stats;
    console.log(
      `  aes+fec ours->kcp-go: ${rate.toFixed(0)} calls/s; dropped ${dropped}, FEC recovered ${stats.fec!.recovered}, ` +
        `parity received ${stats.fec!.parityReceived}`,
    );
    assert.ok(dropped > 20);
    assert.ok(stats.fec!.parityReceived > 0, 'kcp-go sent parity shards');
    assert.ok(stats.fec!.recovered > 0, 'lost datagrams were rebuilt from kcp-go parity');
    assert.ok(stats.packets.fecRecovered > 0, 'recovered datagrams were accepted by KCP');
    assert.equal(stats.fec!.errors, 0);
  });

  it('(b3) kcp-go rebuilds a datagram we lost from OUR parity (no retransmission needed)', { timeout: 30_000 }, async () => {
    const address = await peerServer(['-crypt', 'aes', '-ds', '10', '-ps', '3']);
    let outData = 0;
    const conn = await dial(address, {
      kcpKey: 'rpcx-key',
      kcpResend: 0,
      // Lose our 10th datagram, the last data datagram of the first FEC group: no later segment gets acked before kcp-go
      // rebuilds it from the parity that follows, so only the 200 ms initial RTO could resend it.
      kcpDropPacket: (direction: 'in' | 'out') => direction === 'out' && ++outData === 10,
    });
    const size = 10 * conn.kcp.mss; // exactly one FEC group of full datagrams, sent in one flush
    let echoed = 0;
    const done = new Promise<void>((resolve) => conn.onData((c) => (echoed += c.length) >= size && resolve()));
    conn.write(Buffer.alloc(size, 0x5a));
    await done;
    const s = conn.stats.kcp;
    assert.ok(outData >= 13, 'the group and its parity went out');
    assert.equal(s.lostSegs + s.fastRetransSegs + s.earlyRetransSegs, 0, 'nothing was retransmitted: kcp-go used our parity');
  });

  it('(b2) a wrong key gets no answer at all', { timeout: 30_000 }, async () => {
    const address = await peerServer(['-crypt', 'aes', '-ds', '10', '-ps', '3']);
    const conn = await dial(address, { kcpKey: 'not-the-key', kcpIdleTimeoutMs: 1500 });
    let got = 0;
    conn.onData((c) => (got += c.length));
    const closed = new Promise<Error | undefined>((resolve) => conn.onClose(resolve));
    conn.write(Buffer.alloc(100));
    const error = await closed;
    assert.equal(got, 0);
    assert.ok(error && 'code' in error && String(error.code).startsWith('ERR_RPCX_KCP_'), String(error));
  });

  for (const [name, peerArgs, ourOptions] of [
    ['AES + FEC 10/3 (as rpcx)', ['-crypt', 'aes', '-ds', '10', '-ps', '3'], { kcpKey: 'rpcx-key' }],
    ['plain', [], { kcpDataShards: 0, kcpParityShards: 0 }],
  ] as const) {
    it(`(c) kcp-go load client (-n 2000 -c 50) against our server, ${name}`, { timeout: 60_000 }, async () => {
      const server = await startEchoServer(ourOptions);
      try {
        const peer = startPeer(['-mode', 'client', '-addr', server.listener.address, ...peerArgs, '-n', '2000', '-c', '50']);
        peers.push(peer);
        const timer = setTimeout(peer.kill, 45_000);
        const code = await peer.exited;
        clearTimeout(timer);
        console.log(`  kcp-go client -> ours (${name}): ${peer.output().trim()}`);
        assert.equal(code, 0, `kcp-go client failed: ${peer.output()}`);
        assert.match(peer.output(), /rps=\d+/);
        assert.equal(server.conns.length, 1);
        assert.equal((server.listener as KcpListener).sessionCount, 1);
      } finally {
        for (const c of server.conns) c.destroy();
        await server.listener.close();
      }
    });
  }
});
