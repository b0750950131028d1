import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kcp } from '../transport/kcp/arq.js';
import { CMD_ACK, CMD_PUSH, CMD_WASK, CMD_WINS, decodeHeader, encodeHeader, KCP_OVERHEAD, type SegmentHeader } from '../transport/kcp/segment.js';
import { makePair, prng, type Pair } from './helpers/kcp-sim.js';

const fast = (kcp: Kcp): void => {
  kcp.setNoDelay(1, 10, 2, 1);
  kcp.setWndSize(128, 128);
};

function payload(random: () => number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat(chunks);
}

/** Every segment header in a datagram. */
function headers(packet: Uint8Array): SegmentHeader[] {
  const out: SegmentHeader[] = [];
  let off = 0;
  while (packet.length - off >= KCP_OVERHEAD) {
    const h = decodeHeader(packet, off, { conv: 0, cmd: 0, frg: 0, wnd: 0, ts: 0, sn: 0, una: 0, len: 0 });
    out.push(h);
    off += KCP_OVERHEAD + h.len;
  }
  return out;
}

/** Sends `messages` from a to b and collects what b receives (message mode). */
function transfer(pair: Pair, messages: Uint8Array[], limitMs: number): Uint8Array[] {
  const got: Uint8Array[] = [];
  for (const m of messages) assert.equal(pair.a.send(m), 0);
  pair.runUntil(() => got.length === messages.length, limitMs, () => {
    for (let m = pair.b.recv(); m; m = pair.b.recv()) got.push(m);
  });
  return got;
}

describe('kcp segment codec', () => {
  it('encodes the 24-byte little-endian header as ikcp does', () => {
    const buf = new Uint8Array(KCP_OVERHEAD);
    encodeHeader(buf, 0, { conv: 0x01020304, cmd: CMD_PUSH, frg: 7, wnd: 0x0a0b, ts: 0xdeadbeef, sn: 5, una: 0x10000, len: 3 });
    assert.equal(
      Buffer.from(buf).toString('hex'),
      '04030201' + '51' + '07' + '0b0a' + 'efbeadde' + '05000000' + '00000100' + '03000000',
    );
    const h = decodeHeader(buf, 0, { conv: 0, cmd: 0, frg: 0, wnd: 0, ts: 0, sn: 0, una: 0, len: 0 });
    assert.deepEqual(h, { conv: 0x01020304, cmd: CMD_PUSH, frg: 7, wnd: 0x0a0b, ts: 0xdeadbeef, sn: 5, una: 0x10000, len: 3 });
  });

  it('rejects a foreign conversation, a truncated segment and an unknown command', () => {
    const kcp = new Kcp(1, () => {}, () => 0);
    const seg = new Uint8Array(KCP_OVERHEAD + 4);
    encodeHeader(seg, 0, { conv: 2, cmd: CMD_PUSH, frg: 0, wnd: 32, ts: 0, sn: 0, una: 0, len: 4 });
    assert.equal(kcp.input(seg), -1);
    encodeHeader(seg, 0, { conv: 1, cmd: CMD_PUSH, frg: 0, wnd: 32, ts: 0, sn: 0, una: 0, len: 9 });
    assert.equal(kcp.input(seg), -2);
    encodeHeader(seg, 0, { conv: 1, cmd: 99, frg: 0, wnd: 32, ts: 0, sn: 0, una: 0, len: 4 });
    assert.equal(kcp.input(seg), -3);
    assert.equal(kcp.input(seg.subarray(0, 10)), -1);
  });
});

describe('kcp arq', () => {
  it('delivers messages in order over a clean link', () => {
    const pair = makePair({ configure: fast });
    const random = prng(7);
    const messages = Array.from({ length: 50 }, (_, i) => payload(random, 1 + i * 13));
    const got = transfer(pair, messages, 2000);
    assert.deepEqual(got, messages);
    assert.equal(pair.a.stats.lostSegs, 0);
  });

  it('fragments large messages and reassembles them (message mode)', () => {
    const pair = makePair({ configure: fast });
    const random = prng(3);
    const big = payload(random, 100 * pair.a.mss + 17); // 101 fragments (must stay below rcv_wnd = 128)
    const sizes: number[] = [];
    const a = pair.a;
    assert.equal(a.send(big), 0);
    assert.equal(a.sndQueue.length, 101);
    assert.deepEqual(
      a.sndQueue.slice(0, 3).map((s) => s.frg),
      [100, 99, 98],
    );
    assert.equal(a.sndQueue[100]!.frg, 0);
    const got: Uint8Array[] = [];
    pair.runUntil(() => got.length === 1, 5000, () => {
      sizes.push(pair.b.peekSize());
      const m = pair.b.recv();
      if (m) got.push(m);
    });
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], big);
    // Never readable before the last fragment arrived.
    assert.ok(sizes.every((s) => s === -1 || s === big.length));
    // More than 255 fragments is refused.
    assert.equal(a.send(new Uint8Array(256 * a.mss)), -2);
  });

  it('coalesces writes into MSS-sized segments in stream mode', () => {
    const pair = makePair({
      configure: (k) => {
        fast(k);
        k.stream = true;
      },
    });
    const random = prng(11);
    const chunks = Array.from({ length: 400 }, () => payload(random, 1 + Math.floor(random() * 300)));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    for (const c of chunks) assert.equal(pair.a.send(c), 0);
    assert.equal(pair.a.sndQueue.length, Math.ceil(total / pair.a.mss));
    assert.ok(pair.a.sndQueue.slice(0, -1).every((s) => s.len === pair.a.mss && s.frg === 0));
    const got: Uint8Array[] = [];
    let received = 0;
    pair.runUntil(() => received === total, 5000, () => {
      const data = pair.b.recvAll();
      if (data) {
        got.push(data);
        received += data.length;
      }
    });
    assert.deepEqual(concat(got), concat(chunks));
  });

  for (const [name, configure] of [
    ['fast mode', fast],
    ['normal mode with congestion control', (k: Kcp) => k.setWndSize(64, 64)],
  ] as const) {
    it(`survives loss, duplication and reordering (${name})`, () => {
      const lossy = { loss: 0.2, duplicate: 0.1, delayMs: 20, jitterMs: 30 };
      const pair = makePair({ seed: 42, ab: lossy, ba: lossy, configure, ackNoDelay: true });
      const random = prng(99);
      const messages = Array.from({ length: 300 }, () => payload(random, 1 + Math.floor(random() * 4000)));
      const got = transfer(pair, messages, 120_000);
      assert.equal(got.length, messages.length);
      assert.deepEqual(got, messages);
      assert.ok(pair.ab.dropped > 0 && pair.ba.dropped > 0);
      assert.ok(pair.b.stats.repeatSegs > 0, 'duplicates were seen and discarded');
      assert.ok(pair.a.stats.lostSegs + pair.a.stats.fastRetransSegs + pair.a.stats.earlyRetransSegs > 0);
      assert.equal(pair.a.state, 0);
    });
  }

  it('keeps at most snd_wnd segments in flight', () => {
    const pair = makePair({
      configure: (k) => {
        k.setNoDelay(1, 10, 2, 1);
        k.setWndSize(8, 128);
      },
      ab: { delayMs: 50 },
      ba: { delayMs: 50 },
    });
    const random = prng(5);
    for (let i = 0; i < 100; i++) pair.a.send(payload(random, 1000));
    let maxInFlight = 0;
    let got = 0;
    pair.runUntil(() => got === 100, 10_000, () => {
      maxInFlight = Math.max(maxInFlight, (pair.a.sndNxt - pair.a.sndUna) >>> 0);
      while (pair.b.recv()) got++;
    });
    assert.equal(got, 100);
    assert.equal(maxInFlight, 8);
  });

  it('stops at a closed receive window, probes it, and resumes when the reader drains', () => {
    const sent: SegmentHeader[] = [];
    const pair = makePair({
      configure: (k) => {
        k.setNoDelay(1, 10, 2, 1);
        k.setWndSize(64, 16);
      },
      ab: { drop: (_i, p) => (sent.push(...headers(p)), false) },
    });
    const random = prng(8);
    const messages = Array.from({ length: 60 }, () => payload(random, 500));
    for (const m of messages) pair.a.send(m);
    pair.run(1000); // b never reads
    assert.equal(pair.b.rcvQueue.length, 16, 'receiver queue fills to rcv_wnd');
    assert.equal(pair.a.rmtWnd, 0, 'sender learned the window is closed');
    const pushesBefore = sent.filter((h) => h.cmd === CMD_PUSH).length;
    pair.run(8000);
    assert.ok(sent.some((h) => h.cmd === CMD_WASK), 'window probe sent after 7 s');
    assert.ok(pair.ba.sent > 0);
    const newPushes = sent.filter((h) => h.cmd === CMD_PUSH).length - pushesBefore;
    assert.equal(newPushes, 0, "the sender is silent while the window is closed");
    const got: Uint8Array[] = [];
    pair.runUntil(() => got.length === messages.length, 20_000, () => {
      for (let m = pair.b.recv(); m; m = pair.b.recv()) got.push(m);
    });
    assert.deepEqual(got, messages);
  });

  it('answers a window probe with a window update', () => {
    const out: SegmentHeader[] = [];
    const kcp = new Kcp(9, (buf, size) => out.push(...headers(buf.subarray(0, size))), () => 0);
    kcp.setWndSize(32, 77);
    const probe = new Uint8Array(KCP_OVERHEAD);
    encodeHeader(probe, 0, { conv: 9, cmd: CMD_WASK, frg: 0, wnd: 32, ts: 0, sn: 0, una: 0, len: 0 });
    kcp.input(probe);
    kcp.flush();
    assert.equal(out.length, 1);
    assert.equal(out[0]!.cmd, CMD_WINS);
    assert.equal(out[0]!.wnd, 77);
  });

  it('fast-retransmits a lost segment after `resend` skipping acks, before its RTO', () => {
    const cmds: SegmentHeader[] = [];
    const pair = makePair({
      configure: (k) => {
        k.setNoDelay(1, 10, 2, 1);
        k.setWndSize(128, 128);
      },
      ab: { delayMs: 20, drop: (i, p) => (cmds.push(...headers(p)), i === 0) }, // lose the packet carrying sn 0
      ba: { delayMs: 20 },
      ackNoDelay: true,
    });
    const random = prng(2);
    const messages = Array.from({ length: 30 }, () => payload(random, 1200));
    for (const m of messages.slice(0, 10)) pair.a.send(m);
    const got: Uint8Array[] = [];
    let fed = 10;
    // Keep the sender busy with new data so retransmission is "fast" rather than "early".
    const elapsed = pair.runUntil(() => got.length === messages.length, 5000, () => {
      if (fed < messages.length && pair.clock.now % 5 === 0) pair.a.send(messages[fed++]!);
      for (let m = pair.b.recv(); m; m = pair.b.recv()) got.push(m);
    });
    assert.deepEqual(got, messages);
    assert.ok(pair.a.stats.fastRetransSegs + pair.a.stats.earlyRetransSegs >= 1);
    assert.equal(pair.a.stats.lostSegs, 0, 'no RTO expiry was needed');
    const resend = cmds.filter((h) => h.cmd === CMD_PUSH && h.sn === 0);
    assert.equal(resend.length, 2);
    assert.ok(resend[1]!.ts - resend[0]!.ts < 200, `resent after ${resend[1]!.ts - resend[0]!.ts} ms, below the 200 ms RTO`);
    assert.ok(elapsed < 1000);
  });

  for (const [nodelay, growth] of [
    [0, [200, 400, 600, 800, 1000]],
    [1, [200, 300, 400, 500, 600]],
  ] as const) {
    it(`backs off the RTO on repeated loss (nodelay ${nodelay}) and declares the link dead`, () => {
      const times: number[] = [];
      const pair = makePair({
        configure: (k) => k.setNoDelay(nodelay, 10, 0, 1),
        ab: { drop: (_i, p) => (headers(p).some((h) => h.cmd === CMD_PUSH && h.sn === 0) && times.push(pair.clock.now), true) },
      });
      pair.a.send(new Uint8Array(10));
      pair.runUntil(() => times.length === 6, 60_000);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      for (let i = 0; i < growth.length; i++) {
        assert.ok(Math.abs(gaps[i]! - growth[i]!) <= 10, `gap ${i}: ${gaps[i]} vs ${growth[i]} (${gaps.join(',')})`);
      }
      assert.equal(pair.a.state, 0);
      pair.runUntil(() => pair.a.state !== 0, 600_000);
      assert.equal(pair.a.state, 0xffffffff);
      assert.equal(pair.a.sndBuf[0]!.xmit, 20);
    });
  }

  it('estimates the RTT (srtt / rttvar) and derives the RTO from it', () => {
    const pair = makePair({
      configure: (k) => k.setNoDelay(1, 10, 2, 1),
      ab: { delayMs: 40 },
      ba: { delayMs: 40 },
      ackNoDelay: true,
    });
    const random = prng(4);
    for (let i = 0; i < 50; i++) {
      pair.a.send(payload(random, 100));
      pair.run(20, () => {
        while (pair.b.recv());
      });
    }
    pair.run(200);
    assert.ok(pair.a.rxSrtt >= 80 && pair.a.rxSrtt <= 92, `srtt ${pair.a.rxSrtt}`);
    assert.ok(pair.a.rxRttvar <= 10, `rttvar ${pair.a.rxRttvar}`);
    assert.equal(pair.a.rxRto, pair.a.rxSrtt + Math.max(pair.a.interval, pair.a.rxRttvar * 4));
  });

  it('flushFullSegments sends the full stream segments at once, one datagram each, and leaves the tail', () => {
    const packets: Uint8Array[] = [];
    const tx = new Kcp(9, (buf, size) => packets.push(buf.slice(0, size)), () => 50);
    const rx = new Kcp(9, () => {}, () => 50);
    for (const k of [tx, rx]) {
      fast(k);
      k.stream = true;
    }
    const data = payload(prng(3), Math.floor(tx.mss * 2.5));
    tx.send(data.subarray(0, 100));
    assert.equal(tx.flushFullSegments(), 0, 'a lone partial segment waits');
    tx.send(data.subarray(100));
    assert.equal(tx.flushFullSegments(), 2);
    assert.equal(packets.length, 2);
    for (const p of packets) {
      assert.equal(p.length, tx.mtu, 'a full datagram');
      assert.deepEqual(headers(p).map((h) => [h.cmd, h.len]), [[CMD_PUSH, tx.mss]]);
    }
    assert.deepEqual(headers(packets[1]!).map((h) => h.sn), [1]);
    assert.equal(tx.sndQueue.length, 1, 'the tail stays queued');
    tx.flush();
    assert.equal(packets.length, 3);
    assert.deepEqual(headers(packets[2]!).map((h) => [h.sn, h.len]), [[2, data.length - 2 * tx.mss]]);
    for (const p of packets) rx.input(p);
    assert.deepEqual(new Uint8Array(rx.recvAll()!), data);
    assert.equal(tx.stats.outSegs, 3);

    // The window still bounds what leaves.
    const small: Uint8Array[] = [];
    const narrow = new Kcp(10, (buf, size) => small.push(buf.slice(0, size)), () => 0);
    fast(narrow);
    narrow.stream = true;
    narrow.setWndSize(2, 128);
    narrow.send(new Uint8Array(narrow.mss * 4 + 1));
    assert.equal(narrow.flushFullSegments(), 2);
    assert.equal(narrow.flushFullSegments(), 0);
    assert.equal(narrow.waitSnd(), 5);
  });

  it('acks are sent for every data segment, carry una, and flush(true) sends only acks', () => {
    const out: SegmentHeader[] = [];
    const rx = new Kcp(5, (buf, size) => out.push(...headers(buf.subarray(0, size))), () => 100);
    const tx = new Kcp(5, () => {}, () => 100);
    tx.setNoDelay(1, 10, 0, 1);
    const packets: Uint8Array[] = [];
    const tx2 = new Kcp(5, (buf, size) => packets.push(buf.slice(0, size)), () => 100);
    tx2.setNoDelay(1, 10, 0, 1);
    assert.ok(tx2.setMtu(KCP_OVERHEAD + 30)); // one segment per datagram
    for (let i = 0; i < 3; i++) tx2.send(new Uint8Array(30).fill(i));
    tx2.flush();
    tx2.flush();
    assert.equal(packets.length, 3);
    rx.input(packets[2]!);
    rx.input(packets[0]!);
    rx.send(new Uint8Array(5));
    rx.flush(true);
    assert.deepEqual(
      out.map((h) => [h.cmd, h.sn, h.una]),
      [
        [CMD_ACK, 2, 1],
        [CMD_ACK, 0, 1],
      ],
    );
    assert.equal(tx.waitSnd(), 0);
  });
});
