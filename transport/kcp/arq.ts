/**
 * The KCP control block: the ARQ state machine of one conversation, behaving on the wire as ikcp / kcp-go do.
 *
 * It is a pure state machine: bytes come in through `input()`, application data through `send()`, time through
 * `update()` / `flush()` (and the injected clock), and datagrams leave through the `output` callback. It never touches a
 * socket or a timer, so tests drive it with a simulated clock and a simulated lossy link.
 *
 * Features: push / ack / window probe (wask) / window answer (wins); fragmentation (message mode, `frg` counting down to
 * 0) and reassembly; stream mode (writes coalesced into MSS-sized segments); send, receive and remote windows; cumulative
 * `una`; RTO estimation from srtt / rttvar as in RFC 6298 with kcp-go's refinements; fast retransmit after `resend`
 * duplicate acks plus kcp-go's early retransmit; RTO backoff (x2 normally, x1.5 in nodelay mode); optional congestion
 * control (slow start, congestion avoidance, rate halving) that `nc` switches off; dead-link detection.
 */
import {
  ASK_SEND,
  ASK_TELL,
  CMD_ACK,
  CMD_PUSH,
  CMD_WASK,
  CMD_WINS,
  DEADLINK,
  INTERVAL_DEF,
  KCP_OVERHEAD,
  MTU_DEF,
  PROBE_INIT,
  PROBE_LIMIT,
  RTO_DEF,
  RTO_MAX,
  RTO_MIN,
  RTO_NDL,
  readU16,
  readU32,
  Segment,
  span,
  THRESH_INIT,
  THRESH_MIN,
  timeDiff,
  WND_RCV,
  WND_SND,
  writeU16,
  writeU32,
} from './segment.js';

/** Receives one datagram's worth of segments: `buffer[0, size)`, the first `reserved` bytes left for outer layers. */
export type KcpOutput = (buffer: Uint8Array, size: number) => void;

/** Milliseconds on a monotonic clock, wrapping as u32. */
export type KcpClock = () => number;

const processStart = performance.now();
/** The default clock: monotonic milliseconds since this module loaded. */
export const monotonicMs: KcpClock = () => Math.floor(performance.now() - processStart) >>> 0;

/** `input()` result bits (non-negative results); negative results are errors. */
export const INPUT_ACKS_PENDING = 1;
export const INPUT_WINDOW_SLID = 2;
export const INPUT_ERR_SHORT = -1;
export const INPUT_ERR_CONV = -1;
export const INPUT_ERR_TRUNCATED = -2;
export const INPUT_ERR_CMD = -3;

/** Counters, for tests and diagnostics. */
export interface KcpStats {
  inSegs: number;
  outSegs: number;
  /** Retransmissions caused by an RTO expiring. */
  lostSegs: number;
  fastRetransSegs: number;
  earlyRetransSegs: number;
  /** Incoming data segments that were duplicates or outside the window. */
  repeatSegs: number;
}

export class Kcp {
  readonly conv: number;
  mtu = MTU_DEF;
  mss = MTU_DEF - KCP_OVERHEAD;
  /** 0 while alive; 0xffffffff once a segment was transmitted `deadLink` times without an ack. */
  state = 0;
  sndUna = 0;
  sndNxt = 0;
  rcvNxt = 0;
  ssthresh = THRESH_INIT;
  rxRttvar = 0;
  rxSrtt = 0;
  rxRto = RTO_DEF;
  rxMinrto = RTO_MIN;
  sndWnd = WND_SND;
  rcvWnd = WND_RCV;
  rmtWnd = WND_RCV;
  cwnd = 0;
  probe = 0;
  interval = INTERVAL_DEF;
  tsFlush = INTERVAL_DEF;
  nodelay = 0;
  updated = false;
  tsProbe = 0;
  probeWait = 0;
  deadLink = DEADLINK;
  incr = 0;
  fastresend = 0;
  nocwnd = false;
  stream = false;
  readonly stats: KcpStats = { inSegs: 0, outSegs: 0, lostSegs: 0, fastRetransSegs: 0, earlyRetransSegs: 0, repeatSegs: 0 };

  readonly sndQueue: Segment[] = [];
  readonly rcvQueue: Segment[] = [];
  readonly sndBuf: Segment[] = [];
  readonly rcvBuf: Segment[] = [];
  /** Pending acks as parallel arrays (sn, ts), `ackCount` of them valid. */
  #ackSn: number[] = [];
  #ackTs: number[] = [];
  #ackCount = 0;
  #pool: Segment[] = [];
  #buffer: Uint8Array;
  #reserved = 0;
  readonly #output: KcpOutput;
  readonly #clock: KcpClock;

  constructor(conv: number, output: KcpOutput, clock: KcpClock = monotonicMs) {
    this.conv = conv >>> 0;
    this.#output = output;
    this.#clock = clock;
    this.#buffer = new Uint8Array(this.mtu);
  }

  /** Bytes kept free at the start of every output buffer (for the FEC / crypt headers). False if too large. */
  reserveBytes(n: number): boolean {
    if (n < 0 || n >= this.mtu - KCP_OVERHEAD) return false;
    this.#reserved = n;
    this.mss = this.mtu - KCP_OVERHEAD - n;
    return true;
  }

  get reserved(): number {
    return this.#reserved;
  }

  setMtu(mtu: number): boolean {
    if (mtu < 50 || mtu - KCP_OVERHEAD - this.#reserved <= 0) return false;
    this.mtu = mtu;
    this.mss = mtu - KCP_OVERHEAD - this.#reserved;
    this.#buffer = new Uint8Array(mtu);
    this.#pool.length = 0;
    return true;
  }

  /**
   * ikcp's nodelay(): `nodelay` 1 lowers the minimum RTO to 30 ms and backs off by 1.5x instead of 2x; `interval` is the
   * flush period (10..5000 ms); `resend` > 0 enables fast retransmit after that many skipping acks; `nc` disables
   * congestion control. Negative arguments leave a setting unchanged.
   */
  setNoDelay(nodelay: number, interval: number, resend: number, nc: number): void {
    if (nodelay >= 0) {
      this.nodelay = nodelay;
      this.rxMinrto = nodelay !== 0 ? RTO_NDL : RTO_MIN;
    }
    if (interval >= 0) this.interval = Math.min(5000, Math.max(10, interval));
    if (resend >= 0) this.fastresend = resend;
    if (nc >= 0) this.nocwnd = nc !== 0;
  }

  setWndSize(sndWnd: number, rcvWnd: number): void {
    if (sndWnd > 0) this.sndWnd = sndWnd;
    if (rcvWnd > 0) this.rcvWnd = rcvWnd;
  }

  /** Segments not yet acknowledged (queued or in flight). */
  waitSnd(): number {
    return this.sndBuf.length + this.sndQueue.length;
  }

  /** True when nothing needs the timer: nothing to send or resend, no acks or probes due, remote window open. */
  idle(): boolean {
    return this.sndBuf.length === 0 && this.sndQueue.length === 0 && this.#ackCount === 0 && this.probe === 0 && this.rmtWnd !== 0;
  }

  /** The clock this block runs on. */
  currentTime(): number {
    return this.#clock();
  }

  get pendingAcks(): number {
    return this.#ackCount;
  }

  // ---------------------------------------------------------------- segments

  #newSegment(): Segment {
    const seg = this.#pool.pop();
    if (seg && seg.data.length >= this.mss) {
      seg.reset();
      return seg;
    }
    return new Segment(this.mss);
  }

  #freeSegment(seg: Segment): void {
    if (this.#pool.length < 4096) this.#pool.push(seg);
  }

  /** Drops every queued segment (used when a session is released). */
  release(): void {
    this.sndQueue.length = 0;
    this.sndBuf.length = 0;
    this.rcvQueue.length = 0;
    this.rcvBuf.length = 0;
    this.#pool.length = 0;
    this.#ackCount = 0;
  }

  // ---------------------------------------------------------------- receiving (application side)

  /** Size of the next complete message in the receive queue, or -1. */
  peekSize(): number {
    const q = this.rcvQueue;
    if (q.length === 0) return -1;
    const first = q[0]!;
    if (first.frg === 0) return first.len;
    if (q.length < first.frg + 1) return -1;
    let length = 0;
    for (const seg of q) {
      length += seg.len;
      if (seg.frg === 0) break;
    }
    return length;
  }

  /** Bytes of all complete messages at the head of the receive queue (what `recvAll` would return). */
  readableBytes(): number {
    const q = this.rcvQueue;
    let total = 0;
    let message = 0;
    for (let i = 0; i < q.length; i++) {
      const seg = q[i]!;
      message += seg.len;
      if (seg.frg === 0) {
        total += message;
        message = 0;
      }
    }
    return total;
  }

  /**
   * Copies the next message into `buffer` at `offset`. Returns its size, -1 when no complete message is queued, -2 when
   * `buffer` lacks room.
   */
  recvInto(buffer: Uint8Array, offset = 0): number {
    const size = this.peekSize();
    if (size < 0) return -1;
    if (size > buffer.length - offset) return -2;
    this.#take(buffer, offset, 1);
    return size;
  }

  /** The next message, or undefined. */
  recv(): Uint8Array | undefined {
    const size = this.peekSize();
    if (size < 0) return undefined;
    const out = new Uint8Array(size);
    this.#take(out, 0, 1);
    return out;
  }

  /** Every complete message queued, concatenated (for byte-stream consumers), or undefined when there is none. */
  recvAll(): Uint8Array | undefined {
    const size = this.readableBytes();
    if (size <= 0) return undefined;
    const out = Buffer.allocUnsafe(size);
    this.#take(out, 0, Infinity);
    return out;
  }

  /** Moves up to `messages` complete messages from the receive queue into `out`. */
  #take(out: Uint8Array, offset: number, messages: number): void {
    const q = this.rcvQueue;
    const fastRecover = q.length >= this.rcvWnd;
    let count = 0;
    let taken = 0;
    let lastComplete = 0;
    let pos = offset;
    for (let i = 0; i < q.length && taken < messages; i++) {
      const seg = q[i]!;
      if (seg.frg !== 0 && i + seg.frg >= q.length) break; // incomplete tail message
      out.set(span(seg.data, 0, seg.len), pos);
      pos += seg.len;
      count++;
      if (seg.frg === 0) {
        taken++;
        lastComplete = count;
      }
    }
    count = lastComplete;
    for (let i = 0; i < count; i++) this.#freeSegment(q[i]!);
    if (count === q.length) q.length = 0; // no array of the removed segments, as splice would make
    else q.splice(0, count);
    this.#moveReady();
    if (fastRecover && q.length < this.rcvWnd) this.probe |= ASK_TELL; // tell the peer the window reopened
  }

  /** Moves in-order segments from the receive buffer to the receive queue, within the receive window. */
  #moveReady(): void {
    const buf = this.rcvBuf;
    let count = 0;
    while (count < buf.length) {
      const seg = buf[count]!;
      if (seg.sn !== this.rcvNxt || this.rcvQueue.length >= this.rcvWnd) break;
      this.rcvQueue.push(seg);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      count++;
    }
    if (count > 0) buf.splice(0, count);
  }

  // ---------------------------------------------------------------- sending (application side)

  /**
   * Queues application bytes. Returns 0, -1 for empty input, -2 when a message would need more than 255 fragments
   * (message mode; callers split large writes into MSS-sized pieces as the session does).
   */
  send(data: Uint8Array): number {
    if (data.length === 0) return -1;
    let pos = 0;
    const mss = this.mss;
    if (this.stream) {
      const last = this.sndQueue[this.sndQueue.length - 1];
      if (last && last.len < mss) {
        const extend = Math.min(mss - last.len, data.length);
        last.data.set(span(data, 0, extend), last.len);
        last.len += extend;
        pos = extend;
      }
      if (pos === data.length) return 0;
    }
    const remaining = data.length - pos;
    const count = remaining <= mss ? 1 : Math.ceil(remaining / mss);
    if (count > 255) return -2;
    for (let i = 0; i < count; i++) {
      const size = Math.min(mss, data.length - pos);
      const seg = this.#newSegment();
      seg.data.set(span(data, pos, pos + size), 0);
      seg.len = size;
      seg.frg = this.stream ? 0 : count - i - 1;
      this.sndQueue.push(seg);
      pos += size;
    }
    return 0;
  }

  // ---------------------------------------------------------------- input (network side)

  #updateAck(rtt: number): void {
    if (this.rxSrtt === 0) {
      this.rxSrtt = rtt;
      this.rxRttvar = rtt >> 1;
    } else {
      let delta = rtt - this.rxSrtt;
      this.rxSrtt += delta >> 3;
      if (delta < 0) delta = -delta;
      // A sample below the expected range weighs 8x less (kcp-go's refinement of RFC 6298).
      if (rtt < this.rxSrtt - this.rxRttvar) this.rxRttvar += (delta - this.rxRttvar) >> 5;
      else this.rxRttvar += (delta - this.rxRttvar) >> 2;
    }
    const rto = this.rxSrtt + Math.max(this.interval, this.rxRttvar << 2);
    this.rxRto = Math.min(RTO_MAX, Math.max(this.rxMinrto, rto));
  }

  #shrinkBuf(): void {
    this.sndUna = this.sndBuf.length > 0 ? this.sndBuf[0]!.sn : this.sndNxt;
  }

  #parseAck(sn: number): void {
    if (timeDiff(sn, this.sndUna) < 0 || timeDiff(sn, this.sndNxt) >= 0) return;
    const buf = this.sndBuf;
    for (let i = 0; i < buf.length; i++) {
      const seg = buf[i]!;
      if (seg.sn === sn) {
        // Marked, not removed: removal waits for una so large windows do not shift on every ack.
        seg.acked = true;
        break;
      }
      if (timeDiff(sn, seg.sn) < 0) break;
    }
  }

  #parseFastack(sn: number, ts: number): void {
    if (timeDiff(sn, this.sndUna) < 0 || timeDiff(sn, this.sndNxt) >= 0) return;
    const buf = this.sndBuf;
    for (let i = 0; i < buf.length; i++) {
      const seg = buf[i]!;
      if (timeDiff(sn, seg.sn) < 0) break;
      if (sn !== seg.sn && timeDiff(seg.ts, ts) <= 0) seg.fastack++;
    }
  }

  #parseUna(una: number): number {
    const buf = this.sndBuf;
    let count = 0;
    while (count < buf.length && timeDiff(una, buf[count]!.sn) > 0) {
      this.#freeSegment(buf[count]!);
      count++;
    }
    if (count > 0) buf.splice(0, count);
    return count;
  }

  #ackPush(sn: number, ts: number): void {
    const i = this.#ackCount++;
    this.#ackSn[i] = sn;
    this.#ackTs[i] = ts;
  }

  /** Stores an incoming data segment; returns true if it was a duplicate or outside the window. */
  #parseData(data: Uint8Array, off: number, len: number, frg: number, sn: number): boolean {
    if (timeDiff(sn, (this.rcvNxt + this.rcvWnd) >>> 0) >= 0 || timeDiff(sn, this.rcvNxt) < 0) return true;
    const buf = this.rcvBuf;
    if (sn === this.rcvNxt && buf.length === 0 && this.rcvQueue.length < this.rcvWnd) {
      // In order with nothing out of order waiting (the usual case): straight to the receive queue, as the detour
      // through the receive buffer would move it, without an array push and splice per segment.
      this.rcvQueue.push(this.#receivedSegment(data, off, len, frg, sn));
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      return false;
    }
    let insertAt = 0;
    for (let i = buf.length - 1; i >= 0; i--) {
      const seg = buf[i]!;
      if (seg.sn === sn) return true;
      if (timeDiff(sn, seg.sn) > 0) {
        insertAt = i + 1;
        break;
      }
    }
    const seg = this.#receivedSegment(data, off, len, frg, sn);
    if (insertAt === buf.length) buf.push(seg);
    else buf.splice(insertAt, 0, seg);
    this.#moveReady();
    return false;
  }

  /** A segment holding a copy of the received data segment at `data[off, off + len)`. */
  #receivedSegment(data: Uint8Array, off: number, len: number, frg: number, sn: number): Segment {
    const seg = this.#newSegment();
    if (seg.data.length < len) seg.data = new Uint8Array(len); // a peer with a larger MSS than ours
    seg.conv = this.conv;
    seg.cmd = CMD_PUSH;
    seg.frg = frg;
    seg.sn = sn;
    seg.len = len;
    seg.data.set(data.subarray(off, off + len), 0);
    return seg;
  }

  /**
   * Feeds one received datagram (one or more segments). `regular` is false for packets rebuilt by FEC: those update
   * neither the remote window nor the RTT. Returns a negative error code, or a bit set of `INPUT_ACKS_PENDING` (acks are
   * waiting to be flushed) and `INPUT_WINDOW_SLID` (una advanced, so new data may be sendable). Flushing is left to the
   * caller (`flush(true)` for ack-nodelay, `flush()` after a window slide).
   */
  input(data: Uint8Array, regular = true): number {
    const prevUna = this.sndUna;
    if (data.length < KCP_OVERHEAD) return INPUT_ERR_SHORT;
    let latest = 0;
    let gotAck = false;
    let windowSlides = false;
    let off = 0;
    const end = data.length;
    while (end - off >= KCP_OVERHEAD) {
      const conv = readU32(data, off);
      if (conv !== this.conv) return INPUT_ERR_CONV;
      const cmd = data[off + 4]!;
      const frg = data[off + 5]!;
      const wnd = readU16(data, off + 6);
      const ts = readU32(data, off + 8);
      const sn = readU32(data, off + 12);
      const una = readU32(data, off + 16);
      const len = readU32(data, off + 20);
      off += KCP_OVERHEAD;
      if (end - off < len) return INPUT_ERR_TRUNCATED;
      if (cmd !== CMD_PUSH && cmd !== CMD_ACK && cmd !== CMD_WASK && cmd !== CMD_WINS) return INPUT_ERR_CMD;
      if (regular) this.rmtWnd = wnd;
      if (this.#parseUna(una) > 0) windowSlides = true;
      this.#shrinkBuf();
      if (cmd === CMD_ACK) {
        this.#parseAck(sn);
        this.#parseFastack(sn, ts);
        gotAck = true;
        latest = ts;
      } else if (cmd === CMD_PUSH) {
        let repeat = true;
        if (timeDiff(sn, (this.rcvNxt + this.rcvWnd) >>> 0) < 0) {
          this.#ackPush(sn, ts);
          if (timeDiff(sn, this.rcvNxt) >= 0) repeat = this.#parseData(data, off, len, frg, sn);
        }
        if (regular && repeat) this.stats.repeatSegs++;
      } else if (cmd === CMD_WASK) {
        this.probe |= ASK_TELL;
      }
      // CMD_WINS carries nothing but the window, already taken above.
      this.stats.inSegs++;
      off += len;
    }

    if (gotAck && regular) {
      const rtt = timeDiff(this.#clock(), latest);
      if (rtt >= 0) this.#updateAck(rtt);
    }

    if (!this.nocwnd && timeDiff(this.sndUna, prevUna) > 0 && this.cwnd < this.rmtWnd) {
      const mss = this.mss;
      if (this.cwnd < this.ssthresh) {
        this.cwnd++;
        this.incr += mss;
      } else {
        if (this.incr < mss) this.incr = mss;
        this.incr += Math.floor((mss * mss) / this.incr) + Math.floor(mss / 16);
        if ((this.cwnd + 1) * mss <= this.incr) this.cwnd = Math.floor((this.incr + mss - 1) / mss);
      }
      if (this.cwnd > this.rmtWnd) {
        this.cwnd = this.rmtWnd;
        this.incr = this.rmtWnd * mss;
      }
    }

    let result = 0;
    if (this.#ackCount > 0) result |= INPUT_ACKS_PENDING;
    if (windowSlides) result |= INPUT_WINDOW_SLID;
    return result;
  }

  // ---------------------------------------------------------------- output

  #wndUnused(): number {
    return this.rcvQueue.length < this.rcvWnd ? this.rcvWnd - this.rcvQueue.length : 0;
  }

  /** Writes a header-only segment (ack / probe) at `ptr`. */
  #encodeControl(ptr: number, cmd: number, wnd: number, ts: number, sn: number): number {
    const b = this.#buffer;
    writeU32(b, ptr, this.conv);
    b[ptr + 4] = cmd;
    b[ptr + 5] = 0;
    writeU16(b, ptr + 6, wnd);
    writeU32(b, ptr + 8, ts);
    writeU32(b, ptr + 12, sn);
    writeU32(b, ptr + 16, this.rcvNxt);
    writeU32(b, ptr + 20, 0);
    this.stats.outSegs++;
    return ptr + KCP_OVERHEAD;
  }

  /** Emits the buffer if `space` more bytes would not fit; returns the (possibly reset) write position. */
  #makeSpace(ptr: number, space: number): number {
    if (ptr + space > this.mtu) {
      this.#output(this.#buffer, ptr);
      return this.#reserved;
    }
    return ptr;
  }

  /** Transmits `seg` (one more time) at `ptr`, emitting the buffer first if it would not fit; returns the new position. */
  #writeSegment(seg: Segment, ptr: number, current: number, wnd: number): number {
    seg.xmit++;
    seg.ts = current;
    seg.wnd = wnd;
    seg.una = this.rcvNxt;
    ptr = this.#makeSpace(ptr, KCP_OVERHEAD + seg.len);
    const b = this.#buffer;
    writeU32(b, ptr, seg.conv);
    b[ptr + 4] = CMD_PUSH;
    b[ptr + 5] = seg.frg;
    writeU16(b, ptr + 6, wnd);
    writeU32(b, ptr + 8, seg.ts);
    writeU32(b, ptr + 12, seg.sn);
    writeU32(b, ptr + 16, seg.una);
    writeU32(b, ptr + 20, seg.len);
    ptr += KCP_OVERHEAD;
    if (seg.len > 0) {
      b.set(span(seg.data, 0, seg.len), ptr);
      ptr += seg.len;
    }
    this.stats.outSegs++;
    if (seg.xmit >= this.deadLink) this.state = 0xffffffff;
    return ptr;
  }

  /** The send window: the local and remote windows, and the congestion window unless `nocwnd`. */
  #sendWindow(): number {
    const cwnd = Math.min(this.sndWnd, this.rmtWnd);
    return this.nocwnd ? cwnd : Math.min(this.cwnd, cwnd);
  }

  /**
   * Sends, at once, the queued segments that are full (MSS bytes; the stream-mode tail still being filled is left),
   * as far as the window allows: each makes a full datagram whenever it leaves, so sending it now costs nothing extra
   * and lets the peer start on it while this side is still producing. Acks, probes and retransmissions wait for the
   * next `flush()`. Returns the number of segments sent.
   */
  flushFullSegments(): number {
    const queue = this.sndQueue;
    const mss = this.mss;
    const window = this.#sendWindow();
    let count = 0;
    while (count < queue.length - 1 && queue[count]!.len === mss && timeDiff(this.sndNxt, (this.sndUna + window) >>> 0) < 0) {
      count++;
      this.sndNxt = (this.sndNxt + 1) >>> 0;
    }
    if (count === 0) return 0;
    const wnd = this.#wndUnused();
    const current = this.#clock();
    let sn = (this.sndNxt - count) >>> 0;
    let ptr = this.#reserved;
    for (let i = 0; i < count; i++) {
      const seg = queue[i]!;
      seg.conv = this.conv;
      seg.cmd = CMD_PUSH;
      seg.sn = sn;
      sn = (sn + 1) >>> 0;
      seg.rto = this.rxRto;
      seg.resendts = (current + seg.rto) >>> 0;
      this.sndBuf.push(seg);
      ptr = this.#writeSegment(seg, ptr, current, wnd);
    }
    queue.splice(0, count);
    if (ptr > this.#reserved) this.#output(this.#buffer, ptr);
    return count;
  }

  /**
   * Sends pending acks, probes, new data within the window and due retransmissions. With `ackOnly`, only the acks.
   * Returns the milliseconds until the next retransmission is due (at most `interval`).
   */
  flush(ackOnly = false): number {
    const wnd = this.#wndUnused();
    let ptr = this.#reserved;

    const ackCount = this.#ackCount;
    for (let i = 0; i < ackCount; i++) {
      const sn = this.#ackSn[i]!;
      // Acks for segments below rcv_nxt are covered by una; only the last one is kept (kcp-go's jitter filter).
      if (timeDiff(sn, this.rcvNxt) >= 0 || i === ackCount - 1) {
        ptr = this.#makeSpace(ptr, KCP_OVERHEAD);
        ptr = this.#encodeControl(ptr, CMD_ACK, wnd, this.#ackTs[i]!, sn);
      }
    }
    this.#ackCount = 0;

    if (ackOnly) {
      if (ptr > this.#reserved) this.#output(this.#buffer, ptr);
      return this.interval;
    }

    let current = this.#clock();
    if (this.rmtWnd === 0) {
      // The peer's window is closed: probe it, backing off from 7 s up to 120 s.
      if (this.probeWait === 0) {
        this.probeWait = PROBE_INIT;
        this.tsProbe = (current + this.probeWait) >>> 0;
      } else if (timeDiff(current, this.tsProbe) >= 0) {
        if (this.probeWait < PROBE_INIT) this.probeWait = PROBE_INIT;
        this.probeWait += this.probeWait >>> 1;
        if (this.probeWait > PROBE_LIMIT) this.probeWait = PROBE_LIMIT;
        this.tsProbe = (current + this.probeWait) >>> 0;
        this.probe |= ASK_SEND;
      }
    } else {
      this.tsProbe = 0;
      this.probeWait = 0;
    }
    if (this.probe & ASK_SEND) {
      ptr = this.#makeSpace(ptr, KCP_OVERHEAD);
      ptr = this.#encodeControl(ptr, CMD_WASK, wnd, 0, 0);
    }
    if (this.probe & ASK_TELL) {
      ptr = this.#makeSpace(ptr, KCP_OVERHEAD);
      ptr = this.#encodeControl(ptr, CMD_WINS, wnd, 0, 0);
    }
    this.probe = 0;

    const cwnd = this.#sendWindow();

    // Move new segments from the queue into the send window.
    let newSegs = 0;
    const queue = this.sndQueue;
    while (newSegs < queue.length && timeDiff(this.sndNxt, (this.sndUna + cwnd) >>> 0) < 0) {
      const seg = queue[newSegs]!;
      seg.conv = this.conv;
      seg.cmd = CMD_PUSH;
      seg.sn = this.sndNxt;
      this.sndBuf.push(seg);
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      newSegs++;
    }
    if (newSegs > 0) queue.splice(0, newSegs);

    const resent = this.fastresend > 0 ? this.fastresend : 0xffffffff;
    let change = 0;
    let lost = 0;
    let minrto = this.interval;
    const buf = this.sndBuf;
    for (let i = 0; i < buf.length; i++) {
      const seg = buf[i]!;
      if (seg.acked) continue;
      let needsend = false;
      if (seg.xmit === 0) {
        needsend = true;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto) >>> 0;
      } else if (seg.fastack >= resent) {
        needsend = true;
        seg.fastack = 0;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto) >>> 0;
        change++;
        this.stats.fastRetransSegs++;
      } else if (seg.fastack > 0 && newSegs === 0) {
        // Early retransmit: a later segment was acked and nothing new is going out to trigger fast retransmit.
        needsend = true;
        seg.fastack = 0;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto) >>> 0;
        change++;
        this.stats.earlyRetransSegs++;
      } else if (timeDiff(current, seg.resendts) >= 0) {
        needsend = true;
        seg.rto += this.nodelay === 0 ? this.rxRto : this.rxRto >>> 1;
        seg.fastack = 0;
        seg.resendts = (current + seg.rto) >>> 0;
        lost++;
        this.stats.lostSegs++;
      }

      if (needsend) {
        current = this.#clock();
        ptr = this.#writeSegment(seg, ptr, current, wnd);
      }

      const rto = timeDiff(seg.resendts, current);
      if (rto > 0 && rto < minrto) minrto = rto;
    }

    if (ptr > this.#reserved) this.#output(this.#buffer, ptr);

    if (!this.nocwnd) {
      if (change > 0) {
        // Rate halving (RFC 6937).
        const inflight = (this.sndNxt - this.sndUna) >>> 0;
        this.ssthresh = Math.max(THRESH_MIN, inflight >>> 1);
        this.cwnd = this.ssthresh + resent;
        this.incr = this.cwnd * this.mss;
      }
      if (lost > 0) {
        // Loss: back to slow start (RFC 5681).
        this.ssthresh = Math.max(THRESH_MIN, cwnd >>> 1);
        this.cwnd = 1;
        this.incr = this.mss;
      }
      if (this.cwnd < 1) {
        this.cwnd = 1;
        this.incr = this.mss;
      }
    }
    return minrto;
  }

  /** Flushes when the interval has elapsed (ikcp_update). Call it at least every `interval` ms, or per `check()`. */
  update(now: number = this.#clock()): void {
    if (!this.updated) {
      this.updated = true;
      this.tsFlush = now;
    }
    let slap = timeDiff(now, this.tsFlush);
    if (slap >= 10000 || slap < -10000) {
      this.tsFlush = now;
      slap = 0;
    }
    if (slap >= 0) {
      this.tsFlush = (this.tsFlush + this.interval) >>> 0;
      if (timeDiff(now, this.tsFlush) >= 0) this.tsFlush = (now + this.interval) >>> 0;
      this.flush(false);
    }
  }

  /** When `update()` should next be called (absolute clock value), as ikcp_check. */
  check(now: number = this.#clock()): number {
    if (!this.updated) return now;
    let tsFlush = this.tsFlush;
    if (timeDiff(now, tsFlush) >= 10000 || timeDiff(now, tsFlush) < -10000) tsFlush = now;
    if (timeDiff(now, tsFlush) >= 0) return now;
    const tmFlush = timeDiff(tsFlush, now);
    let tmPacket = 0x7fffffff;
    for (const seg of this.sndBuf) {
      if (seg.acked) continue;
      const diff = timeDiff(seg.resendts, now);
      if (diff <= 0) return now;
      if (diff < tmPacket) tmPacket = diff;
    }
    const minimal = Math.min(tmPacket, tmFlush, this.interval);
    return (now + minimal) >>> 0;
  }
}
