/**
 * One QUIC connection driven through quiche's native binding.
 *
 * The endpoint feeds every datagram to `receive` as it arrives (quiche processes it at once) and asks for a `flush`
 * once per event-loop turn: the flush reads the stream and delivers the bytes, hands pending writes to quiche, then
 * drains quiche's outgoing packets into UDP sends. So the ACKs for everything received in a turn ride along with the
 * answers written in that turn instead of each datagram getting its own ACK-only reply. One timer per connection
 * follows quiche's `timeout()` (loss recovery, ACK delay, idle timeout).
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ResolvedSettings } from './config.js';
import { QuicError, QuicIdleTimeoutError, QuicTlsError } from '../../errors.js';
import { isCleanClose, quicCloseError } from './close-reason.js';
import type { HostPort, NativeConnection, RecvInfo } from './native.js';
import { Slab } from './slab.js';
import { QuicStreamConn, RPCX_STREAM_ID, callListener, type StreamOwner } from './stream-conn.js';

/** What a connection needs from the endpoint that owns its UDP socket. */
export interface ConnectionHost {
  readonly network: string;
  readonly local: HostPort;
  readonly localAddress: string;
  /** Queues the connection for this turn's flush. */
  schedule(conn: QuicConnection): void;
  /** Where outgoing packets are written: views of it go to `transmit`. */
  readonly sendSlab: Slab;
  /** Sends one datagram cut from `sendSlab`; `last` marks the last one of a flush (see UdpEndpoint). */
  transmit(data: Uint8Array, to: HostPort, last: boolean): void;
  /** quiche is done with the connection (or the user is, on a client): forget it. */
  release(conn: QuicConnection): void;
  /** The connection was reported closed to its owner (quiche may still be draining it). */
  closed?(conn: QuicConnection): void;
}

export interface ConnectionOptions {
  role: 'client' | 'server';
  native: NativeConnection;
  host: ConnectionHost;
  remote: HostPort;
  settings: ResolvedSettings;
  alpn: string[];
  /** Largest UDP payload this connection sends (its quiche config's limit). */
  datagramSize: number;
  /** Client: check the server certificate against this host (IP or DNS name) after the handshake. */
  verifyHost?: string;
  /** Server with requestCert: a client certificate is mandatory. */
  requireClientCert?: boolean;
  /** Called once the handshake is complete and verified. */
  onEstablished(conn: QuicConnection): void;
  /** Called once if the connection closes before it was established. */
  onHandshakeFailed(error: Error): void;
}

const TLS_ALERT_BASE = 0x100;
const ALERT_BAD_CERTIFICATE = 42;
const ALERT_CERTIFICATE_REQUIRED = 116;
const ALERT_NO_APPLICATION_PROTOCOL = 120;
/** Application error codes we send in CONNECTION_CLOSE. */
const APP_NO_ERROR = 0;
const APP_ERROR = 1;

/** Incoming stream bytes (see Slab). */
const readSlab = new Slab(64 * 1024);
const NO_REASON = new Uint8Array(0);

/** Below this many bytes of amplification budget no useful packet fits: wait for the client to send more. */
const MIN_PACKET_BUDGET = 64;

type State = 'handshake' | 'open' | 'closed';

function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export class QuicConnection implements StreamOwner {
  readonly native: NativeConnection;
  readonly role: 'client' | 'server';
  readonly stream: QuicStreamConn;
  /** Endpoint bookkeeping: already in this turn's flush list. */
  queued = false;
  /** Endpoint bookkeeping: the routing keys this connection is reachable under. */
  readonly keys: string[] = [];

  readonly #host: ConnectionHost;
  readonly #options: ConnectionOptions;
  readonly #settings: ResolvedSettings;
  #remote: HostPort;
  #recvInfo: RecvInfo;
  #state: State = 'handshake';
  #released = false;
  #received = false;
  #recvFailure: string | undefined;
  #closeError: Error | undefined;
  #closingByUs = false;

  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #keepAlive: NodeJS.Timeout | undefined;
  #linger: NodeJS.Timeout | undefined;
  #lastSendAt = 0;
  /** Bytes received from and sent to the peer while its address is not validated (server side, during the handshake). */
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(options: ConnectionOptions) {
    this.native = options.native;
    this.role = options.role;
    this.#host = options.host;
    this.#options = options;
    this.#settings = options.settings;
    this.#remote = options.remote;
    this.#recvInfo = { from: options.remote, to: options.host.local };
    this.stream = new QuicStreamConn(
      options.host.network,
      this,
      options.role === 'client',
      formatHostPort(options.remote),
      options.host.localAddress,
      options.settings.highWaterMark,
    );
  }

  get state(): State {
    return this.#state;
  }

  /** Feeds one datagram to quiche; the work it causes happens in this turn's flush. */
  receive(data: Buffer, host: string, port: number): void {
    if (this.#released) return;
    if (port !== this.#remote.port || host !== this.#remote.host) {
      this.#remote = { host, port };
      this.#recvInfo = { from: this.#remote, to: this.#host.local };
    }
    try {
      this.native.recv(data, this.#recvInfo);
    } catch (error) {
      // quiche drops bad packets silently and answers `Done` once closing; anything else means the connection
      // failed (TLS, protocol violation) and quiche has queued its CONNECTION_CLOSE.
      const message = (error as Error).message;
      if (message !== 'Done') this.#recvFailure ??= message;
    }
    this.#bytesIn += data.length;
    this.#received = true;
    if (!this.queued) this.#host.schedule(this);
  }

  readAgain(): void {
    if (this.#released) return;
    this.#received = true;
    if (!this.queued) this.#host.schedule(this);
  }

  /** One turn's work at once (timers, dialing): both phases below. */
  flush(): void {
    this.processIncoming();
    this.flushOutgoing();
  }

  /**
   * First phase of a turn: handshake progress and stream reads, delivered to the data listener. The endpoint runs the
   * second phase in a later `setImmediate` of the same check phase, so answers written from promise continuations
   * are already queued when the packets (and the ACKs for what was just received) go out.
   */
  processIncoming(): void {
    if (this.#released || !this.#received) return;
    this.#received = false;
    if (this.#state === 'handshake' && this.native.isEstablished()) this.#established();
    if (this.#state === 'open') this.stream.pull(this.native, readSlab);
  }

  /** Second phase: pending writes into quiche, quiche's packets onto the wire, close detection, the timer. */
  flushOutgoing(): void {
    if (this.#released) return;
    if (this.#state === 'open') {
      this.stream.push(this.native);
      if (this.#state === 'open' && this.stream.bothFinished) this.#closeIfStreamDone();
    }
    this.#sendPackets();
    this.#checkClosed();
    if (!this.#released) this.#armTimer();
  }

  // ---- StreamOwner ----

  requestFlush(): void {
    if (this.queued || this.#released) return;
    this.#host.schedule(this);
  }

  destroyConnection(error?: Error): void {
    if (this.#state === 'closed') return;
    this.#closeLocally(error ? APP_ERROR : APP_NO_ERROR, error, true);
  }

  finQueued(): void {
    if (this.#settings.lingerMs === 0) {
      // No lingering: close as soon as this flush has sent the FIN.
      queueMicrotask(() => this.#closeLocally(APP_NO_ERROR, undefined, false));
      return;
    }
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      this.#closeLocally(APP_NO_ERROR, undefined, false);
    }, this.#settings.lingerMs);
    this.#linger.unref();
  }

  // ---- internals ----

  #established(): void {
    const native = this.native;
    const proto = Buffer.from(native.applicationProto()).toString('latin1');
    if (!proto || !this.#options.alpn.includes(proto)) {
      this.#fail(TLS_ALERT_BASE + ALERT_NO_APPLICATION_PROTOCOL, `no common application protocol (offered ${this.#options.alpn.join(', ')})`);
      return;
    }
    const verifyHost = this.#options.verifyHost;
    if (verifyHost !== undefined) {
      const chain = native.peerCertChain();
      let matches = false;
      if (chain && chain.length > 0) {
        try {
          const cert = new X509Certificate(chain[0]!);
          matches = isIP(verifyHost) ? cert.checkIP(verifyHost) !== undefined : cert.checkHost(verifyHost) !== undefined;
        } catch {
          matches = false;
        }
      }
      if (!matches) {
        this.#fail(TLS_ALERT_BASE + ALERT_BAD_CERTIFICATE, `the server certificate is not valid for ${verifyHost}`);
        return;
      }
    }
    if (this.#options.requireClientCert) {
      const chain = native.peerCertChain();
      if (!chain || chain.length === 0) {
        this.#fail(TLS_ALERT_BASE + ALERT_CERTIFICATE_REQUIRED, 'a client certificate is required');
        return;
      }
    }
    this.#state = 'open';
    this.#startKeepAlive();
    callListener(this.#options.onEstablished, this);
  }

  /** Fails the handshake with a TLS alert after quiche completed it (identity or ALPN checks done here). */
  #fail(code: number, message: string): void {
    const error = new QuicTlsError(`rpcx: quic TLS handshake failed (local): ${message}`, { quicCode: code });
    try {
      this.native.close(false, code, Buffer.from(message));
    } catch {
      // Already closing.
    }
    this.#closingByUs = true;
    this.#toClosed(error, false);
  }

  #closeLocally(appCode: number, error: Error | undefined, async: boolean): void {
    if (this.#state === 'closed') return;
    try {
      this.native.close(true, appCode, NO_REASON);
    } catch {
      // Already closing or closed.
    }
    this.#closingByUs = true;
    this.#toClosed(error, async);
    if (!this.queued) this.#host.schedule(this);
  }

  #closeIfStreamDone(): void {
    // quiche forgets a stream once both sides have finished and everything we sent is acknowledged.
    try {
      this.native.streamCapacity(RPCX_STREAM_ID);
      return;
    } catch {
      this.#closeLocally(APP_NO_ERROR, undefined, false);
    }
  }

  #sendPackets(): void {
    const native = this.native;
    const slab = this.#host.sendSlab;
    // Each datagram is handed over once the next one is known, so that the last one of the flush can be marked.
    let held: Buffer | undefined;
    let heldTo: HostPort | undefined;
    for (;;) {
      let size = this.#options.datagramSize;
      if (this.role === 'server' && this.#state === 'handshake') {
        // Anti-amplification (RFC 9000 §8.1): until the handshake proves the client's address, never send more than
        // three times what it sent. quiche keeps this limit too; this makes it hold whatever the binding does.
        const budget = 3 * this.#bytesIn - this.#bytesOut;
        if (budget < MIN_PACKET_BUDGET) break;
        size = Math.min(size, budget);
      }
      const out = slab.space(size);
      let result;
      try {
        result = native.send(out);
      } catch {
        break;
      }
      // Nothing (or nothing that fits the amplification budget) to send: stop, rather than spin on empty packets.
      if (result === null || result[0] <= 0) break;
      if (held) this.#host.transmit(held, heldTo!, false);
      held = slab.take(result[0]);
      heldTo = result[1].to;
      this.#bytesOut += result[0];
    }
    if (held) {
      this.#host.transmit(held, heldTo!, true);
      this.#lastSendAt = performance.now();
    }
  }

  #checkClosed(): void {
    const native = this.native;
    if (this.#state !== 'closed') {
      if (this.#recvFailure !== undefined || native.isDraining() || native.isClosed()) {
        this.#toClosed(this.#describeClose(), false);
      }
    }
    if (this.#state === 'closed' && (native.isClosed() || this.role === 'client')) this.#release();
  }

  #describeClose(): Error | undefined {
    const native = this.native;
    if (native.isTimedOut()) {
      return new QuicIdleTimeoutError(`rpcx: quic connection to ${formatHostPort(this.#remote)} timed out (no packets)`);
    }
    const peer = native.peerError();
    if (peer && !isCleanClose(peer)) return quicCloseError(peer, true);
    const local = native.localError();
    if (local && !isCleanClose(local)) {
      return quicCloseError(local, false, this.#recvFailure);
    }
    if (this.#recvFailure !== undefined) return new QuicError(`rpcx: quic connection failed: ${this.#recvFailure}`);
    return undefined;
  }

  #toClosed(error: Error | undefined, async: boolean): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#closeError = error;
    this.#stopAuxTimers();
    this.#host.closed?.(this);
    if (wasOpen) {
      this.stream.markClosed(error, async);
    } else {
      this.stream.markClosed(error, true);
      callListener(
        this.#options.onHandshakeFailed,
        error ?? new QuicError(`rpcx: quic connection to ${formatHostPort(this.#remote)} closed during the handshake`),
      );
    }
  }

  /** Forgets the connection now, skipping quiche's draining period (its listener is gone). */
  forceRelease(): void {
    this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#stopAuxTimers();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#host.release(this);
  }

  #armTimer(): void {
    const timeout = this.native.timeout();
    if (timeout === null) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    const now = performance.now();
    const at = now + timeout;
    // A timer that fires no later than needed can stay: firing early is harmless (quiche checks its own clock).
    if (this.#timer && this.#timerAt <= at + 1) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, timeout));
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#released) return;
    this.native.onTimeout();
    this.flush();
  };

  #startKeepAlive(): void {
    let interval = this.#settings.keepAliveMs;
    if (interval <= 0) return;
    const peerIdle = this.native.stats().peerMaxIdleTimeout;
    if (peerIdle > 0) interval = Math.min(interval, Math.floor(peerIdle / 3));
    if (interval <= 0) return;
    this.#keepAlive = setInterval(() => {
      if (this.#state !== 'open') return;
      if (performance.now() - this.#lastSendAt < interval * 0.9) return;
      this.native.sendAckEliciting();
      this.requestFlush();
    }, interval);
    this.#keepAlive.unref();
  }

  #stopAuxTimers(): void {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    if (this.#linger) clearTimeout(this.#linger);
    this.#linger = undefined;
  }

  /** The error the connection closed with, if any. */
  get closeError(): Error | undefined {
    return this.#closeError;
  }

  get closingByUs(): boolean {
    return this.#closingByUs;
  }
}
