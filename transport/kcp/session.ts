/**
 * A KCP session exposed as a `Conn`: one KCP control block plus its datagram pipeline, fed by whoever owns the UDP
 * socket (the listener for accepted sessions, the dialer for client sessions).
 *
 * Timing: one timer per session, armed only while KCP has work (unacknowledged data, pending acks or probes) and set
 * to KCP's own `check()` deadline, so idle sessions cost nothing. Nothing waits for the flush interval: writes and,
 * with ack-nodelay, acks are flushed in the same event-loop turn, right after the current batch of socket reads
 * (setImmediate). So the replies a server writes while handling a batch of incoming datagrams leave together with the
 * acks, coalesced into full segments (stream mode), instead of one small datagram per write; that halves the datagram
 * count under load compared to flushing on every write. Segments that are already full leave at once, though (they
 * are whole datagrams either way): the peer works on them while this side is still producing the rest of the batch,
 * so the two ends overlap instead of taking turns.
 *
 * KCP has no close handshake: `end()` waits (bounded) until what was written is acknowledged, then releases the
 * session; `destroy()` releases at once. Sessions also close when the link is dead (a segment retransmitted `deadLink`
 * times) or when nothing arrived for the idle timeout.
 */
import { INPUT_WINDOW_SLID, Kcp } from './arq.js';
import { KcpDeadLinkError, KcpIdleTimeoutError } from '../../errors.js';
import type { KcpSettings } from './options.js';
import { PacketPipeline, type PacketStats } from './packet.js';
import type { FecDecoderStats } from './fec.js';
import type { KcpStats } from './arq.js';
import { ConnBase } from '../conn-base.js';
import { span } from './segment.js';

/** How long `end()` waits for the peer to acknowledge what was written. */
const END_LINGER_MS = 10_000;

export interface SessionHost {
  /** Puts one datagram on the wire to this session's peer. */
  send(datagram: Uint8Array): void;
  /** The session is released; the host forgets it (and a client host closes its socket). */
  released(session: KcpSession): void;
}

export interface KcpSessionStats {
  kcp: KcpStats;
  packets: PacketStats;
  fec: FecDecoderStats | undefined;
  srtt: number;
  rto: number;
}

export class KcpSession extends ConnBase {
  readonly conv: number;
  readonly kcp: Kcp;
  readonly pipeline: PacketPipeline;
  readonly #host: SessionHost;
  readonly #settings: KcpSettings;
  #closed = false;
  #ending = false;
  #endDeadline = 0;
  #timer: NodeJS.Timeout | undefined;
  /** 0: none, 1: acks only, 2: full flush, queued on setImmediate. */
  #inputFlush = 0;
  #immediate: NodeJS.Immediate | undefined;
  #lastRecv = performance.now();
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(network: string, conv: number, settings: KcpSettings, host: SessionHost, remoteAddress: string, localAddress: string) {
    super(network, remoteAddress, localAddress);
    this.conv = conv >>> 0;
    this.#host = host;
    this.#settings = settings;
    const drop = settings.drop;
    this.pipeline = new PacketPipeline(settings.block, settings.dataShards, settings.parityShards, (datagram) => {
      if (drop?.('out', datagram)) return;
      host.send(datagram);
    });
    const kcp = new Kcp(this.conv, this.pipeline.output);
    kcp.setMtu(settings.mtu);
    kcp.reserveBytes(this.pipeline.headerSize);
    kcp.setNoDelay(settings.nodelay, settings.interval, settings.resend, settings.noCongestion ? 1 : 0);
    kcp.setWndSize(settings.sndWnd, settings.rcvWnd);
    kcp.stream = settings.streamMode;
    this.kcp = kcp;
    if (settings.idleTimeoutMs > 0) this.#armIdle(settings.idleTimeoutMs);
  }

  override get closed(): boolean {
    return this.#closed;
  }

  /** Counters of the ARQ, the pipeline and the FEC decoder (recovered shards etc.), for tests and diagnostics. */
  get stats(): KcpSessionStats {
    return {
      kcp: { ...this.kcp.stats },
      packets: { ...this.pipeline.stats },
      fec: this.pipeline.fecDecoder ? { ...this.pipeline.fecDecoder.stats } : undefined,
      srtt: this.kcp.rxSrtt,
      rto: this.kcp.rxRto,
    };
  }

  // ---------------------------------------------------------------- Conn

  /** Bytes written and not yet acknowledged, counted in whole segments. */
  get writableLength(): number {
    return this.kcp.waitSnd() * this.kcp.mss;
  }

  /**
   * Always true: `send` copies what is written into KCP segments before it returns, so a writer may reuse its buffer
   * at once. Without this the frame writer took a fresh 64 KiB batch buffer per flush, and that external memory drove
   * V8 into a full collection several times a second.
   */
  writeReleased(): boolean {
    return true;
  }

  /** KCP's own measure: the send queue is full when it reaches the local or the remote window. */
  protected override get full(): boolean {
    const waiting = this.kcp.waitSnd();
    return waiting >= this.kcp.sndWnd || waiting >= this.kcp.rmtWnd;
  }

  protected send(data: Uint8Array): void {
    if (this.#ending) return;
    const kcp = this.kcp;
    const mss = kcp.mss;
    // MSS-sized pieces: a message-mode send may not exceed 255 fragments, and stream mode coalesces anyway.
    for (let pos = 0; pos < data.length; pos += mss) kcp.send(span(data, pos, Math.min(pos + mss, data.length)));
    if (kcp.sndQueue.length > 1) {
      this.pipeline.beginBatch();
      try {
        kcp.flushFullSegments();
      } finally {
        this.pipeline.endBatch();
      }
    }
    if (this.#inputFlush < 2) {
      this.#inputFlush = 2;
      this.#immediate ??= setImmediate(this.#flushInput);
    }
  }

  /**
   * Paused, received data stays in KCP's receive queue; once that holds a window's worth, the window advertised to
   * the peer is zero and it stops sending.
   */
  protected readingChanged(reading: boolean): void {
    if (reading && !this.#closed) {
      this.#deliver();
      // Reading again reopens the window: tell the peer now rather than at its next probe.
      if (!this.#closed) this.#flushNow(false);
    }
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.#endDeadline = performance.now() + END_LINGER_MS;
    this.#flushNow(false);
    this.#afterActivity();
  }

  destroy(error?: Error): void {
    this.#release(error);
  }

  // ---------------------------------------------------------------- input from the socket owner

  /** A plaintext datagram for this session (already decrypted and checked by the socket owner). */
  handleBody(body: Uint8Array): void {
    if (this.#closed) return;
    if (this.#settings.drop?.('in', body)) return;
    this.#lastRecv = performance.now();
    const flags = this.pipeline.input(this.kcp, body);
    if (flags >= 0) {
      let level = 0;
      if (flags & INPUT_WINDOW_SLID) level = 2;
      else if (this.#settings.ackNoDelay && this.kcp.pendingAcks > 0) level = 1;
      if (level > this.#inputFlush) {
        this.#inputFlush = level;
        this.#immediate ??= setImmediate(this.#flushInput);
      }
    }
    this.#deliver();
    this.#afterActivity();
  }

  // ---------------------------------------------------------------- internals

  #deliver(): void {
    while (this.reading) {
      const chunk = this.kcp.recvAll();
      if (!chunk) return;
      this.received(chunk);
      if (this.#closed) return;
    }
  }

  readonly #flushInput = (): void => {
    this.#immediate = undefined;
    const level = this.#inputFlush;
    this.#inputFlush = 0;
    if (this.#closed || level === 0) return;
    this.#flushNow(level === 1);
    this.#afterActivity();
  };

  /** A KCP flush whose datagrams are sealed together (see PacketPipeline's batches). */
  #flushNow(ackOnly: boolean): void {
    this.pipeline.beginBatch();
    try {
      this.kcp.flush(ackOnly);
    } finally {
      this.pipeline.endBatch();
    }
  }

  /**
   * The timer only schedules the update for the check phase: timers run before the event loop reads sockets, and a
   * process that was descheduled for a while would otherwise retransmit segments whose acks are already waiting in the
   * socket buffer. The timer stays set (as a marker) until the update has run, so it is not re-armed meanwhile.
   */
  readonly #onTimer = (): void => {
    if (this.#closed) {
      this.#timer = undefined;
      return;
    }
    setImmediate(this.#onTimerUpdate);
  };

  readonly #onTimerUpdate = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    this.pipeline.beginBatch();
    try {
      this.kcp.update();
    } finally {
      this.pipeline.endBatch();
    }
    this.#afterActivity();
  };

  /** Checks for death, drain and the end of an `end()`, then (re)arms the timer if KCP has work. */
  #afterActivity(): void {
    if (this.#closed) return;
    const kcp = this.kcp;
    if (kcp.state !== 0) {
      this.#release(new KcpDeadLinkError(this.remoteAddress));
      return;
    }
    const waiting = kcp.waitSnd();
    if (this.#ending && (waiting === 0 || performance.now() >= this.#endDeadline)) {
      this.#release();
      return;
    }
    if (this.needDrain) {
      this.drained();
      if (this.#closed) return;
    }
    // An armed timer fires within one interval, before any deadline KCP can have gained since (a new segment's RTO is
    // at least 30 ms, longer than the interval), so it is never re-armed here: check() walks the send buffer.
    if (this.#timer || (kcp.idle() && !this.#ending)) return;
    const delay = Math.max(1, timeDiffMs(kcp.check(), kcp.currentTime()));
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  #armIdle(idleMs: number): void {
    const check = (): void => {
      if (this.#closed) return;
      const quiet = performance.now() - this.#lastRecv;
      if (quiet >= idleMs) {
        this.#release(new KcpIdleTimeoutError(this.remoteAddress, idleMs));
        return;
      }
      this.#idleTimer = setTimeout(check, idleMs - quiet + 1);
      this.#idleTimer.unref();
    };
    this.#idleTimer = setTimeout(check, idleMs);
    this.#idleTimer.unref();
  }

  #release(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = this.#idleTimer = this.#immediate = undefined;
    this.kcp.release();
    this.#host.released(this);
    this.closedWith(error, true);
  }
}

function timeDiffMs(later: number, earlier: number): number {
  return (later - earlier) | 0;
}
