/**
 * A `Conn` over one bidirectional WebTransport stream, written against the standard WebTransport and WHATWG streams
 * APIs only (no Node APIs), so the same code serves browsers (native WebTransport or the
 * @fails-components/webtransport ponyfill) and Node (that package's client and server sessions).
 *
 * Why one stream per connection (not one per call): rpcx is a multiplexed, ordered byte stream with its own sequence
 * numbers, server pushes and heartbeats, exactly what every other network carries; putting it on one stream keeps the
 * frame codec, the connection's call tracking and server push unchanged and makes a `wt` connection behave like a
 * `tcp` one (a Go rpcx `quic` connection does the same with its one QUIC stream). A stream per call would save
 * head-of-line blocking only on HTTP/3, cost a stream open (and, over the HTTP/2 and WebSocket mappings, a capsule
 * round of flow-control bookkeeping) per call, and give pushes no natural place.
 */
import { ConnectionClosedError, DialError, messageOf } from '../errors.js';
import { RPCX_PATH } from '../protocol/constants.js';
import { ConnBase } from './conn-base.js';

/** The parts of a WebTransport bidirectional stream this adapter uses. */
export interface WebTransportStreamLike {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** The parts of a WebTransport session (client `WebTransport` or a server-side session) this adapter uses. */
export interface WebTransportSessionLike {
  readonly ready: Promise<unknown>;
  readonly closed: Promise<unknown>;
  readonly incomingBidirectionalStreams: ReadableStream<WebTransportStreamLike>;
  createBidirectionalStream(): Promise<WebTransportStreamLike>;
  close(info?: { closeCode?: number; reason?: string }): void;
}

export type WebTransportConstructor = new (url: string, options?: Record<string, unknown>) => WebTransportSessionLike;

/**
 * Flow-control windows both sides of a session use. @fails-components/webtransport advertises its *initial* session
 * window in SETTINGS but tracks its receive window from the *limit*, so it sends no MAX_DATA until the peer has used
 * the limit: with its 16 KiB default, the first 16 KiB of a session is all that ever flows. Advertising the limit
 * itself keeps both views equal.
 */
export const WEBTRANSPORT_WINDOWS = {
  initialSessionFlowControlWindow: 16 * 1024 * 1024,
  sessionFlowControlWindowSizeLimit: 16 * 1024 * 1024,
  initialStreamFlowControlWindow: 1024 * 1024,
  streamFlowControlWindowSizeLimit: 8 * 1024 * 1024,
} as const;

/** After end(), how long to wait for the peer to finish its side before closing the session anyway. */
const END_LINGER_MS = 2000;

export class WebTransportConn extends ConnBase {
  readonly #session: WebTransportSessionLike;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes handed to the stream's writer that it has not yet taken. */
  #queuedBytes = 0;
  /** A read is outstanding (the pump runs only while the connection is read: a paused one leaves the stream's window to close). */
  #pumping = false;

  constructor(network: string, session: WebTransportSessionLike, stream: WebTransportStreamLike, remoteAddress: string, localAddress = '', highWaterMark?: number) {
    super(network, remoteAddress, localAddress, highWaterMark);
    this.#session = session;
    this.#reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
    session.closed.then(
      () => this.#finish(),
      (error: unknown) => this.#finish(new ConnectionClosedError(`rpcx: webtransport session closed: ${messageOf(error)}`)),
    );
  }

  get writableLength(): number {
    return this.#queuedBytes;
  }

  protected send(data: Uint8Array): void {
    this.#queuedBytes += data.byteLength;
    this.#writer.write(data).then(
      () => {
        this.#queuedBytes -= data.byteLength;
        this.drained();
      },
      (error: unknown) => this.#fail(error),
    );
  }

  protected readingChanged(reading: boolean): void {
    if (reading && !this.#pumping) void this.#pump();
  }

  /** Finishes our side of the stream (FIN after what was written); the session closes once the peer finished too. */
  end(): void {
    if (this.closed) return;
    this.#writer.close().catch(() => {
      // The stream or session is already gone; #pump reports the close.
    });
    const linger = setTimeout(() => this.#closeSession(), END_LINGER_MS);
    // On Node, a process that is otherwise done need not wait for the linger (browsers have no unref).
    (linger as { unref?: () => void }).unref?.();
    this.#session.closed.then(
      () => clearTimeout(linger),
      () => clearTimeout(linger),
    );
  }

  destroy(error?: Error): void {
    this.#closeSession(error ? 1 : 0, error ? error.message.slice(0, 100) : 'closed');
    this.#finish(error);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.reading) {
        const { value, done } = await this.#reader.read();
        if (done) {
          // The peer finished its side: the rpcx connection is over; close the session (one stream per session).
          this.#closeSession();
          this.#finish();
          return;
        }
        if (value.byteLength > 0) this.received(value);
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#pumping = false;
    }
  }

  #fail(error: unknown): void {
    if (this.closed) return;
    this.#closeSession(1, 'stream failed');
    this.#finish(new ConnectionClosedError(`rpcx: webtransport stream failed: ${messageOf(error)}`));
  }

  #closeSession(closeCode = 0, reason = 'closed'): void {
    try {
      this.#session.close({ closeCode, reason });
    } catch {
      // Already closed.
    }
  }

  #finish(error?: Error): void {
    if (!this.closed) this.#reader.cancel().catch(() => {});
    this.closedWith(error);
  }
}


/** `host:port` or `host:port/path` → the session URL (default path `/_rpcx_`, as for ws). */
export function webTransportUrl(address: string): string {
  const slash = address.indexOf('/');
  const hostPort = slash < 0 ? address : address.slice(0, slash);
  const path = slash < 0 ? RPCX_PATH : address.slice(slash);
  return `https://${hostPort}${path}`;
}

/**
 * Opens a session with `open()`, waits until it is ready (at most `timeoutMs`, or until `signal` aborts) and opens the
 * one bidirectional stream the rpcx connection runs on. Browser-safe.
 */
export async function dialWebTransport(
  network: string,
  address: string,
  open: () => WebTransportSessionLike,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WebTransportConn> {
  const url = webTransportUrl(address);
  if (signal?.aborted) throw new DialError(`rpcx: dial ${url} aborted`, signal.reason);
  let session: WebTransportSessionLike;
  try {
    session = open();
  } catch (error) {
    throw new DialError(`rpcx: dial ${url} failed: ${messageOf(error)}`, error);
  }
  // A session that fails before anyone awaits `closed` must not surface as an unhandled rejection.
  session.closed.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    if (timeoutMs > 0) timer = setTimeout(() => reject(new DialError(`rpcx: dial ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    onAbort = () => reject(new DialError(`rpcx: dial ${url} aborted`, signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const stream = await Promise.race([
      session.ready.then(() => session.createBidirectionalStream()),
      stopped,
    ]);
    return new WebTransportConn(network, session, stream, address);
  } catch (error) {
    try {
      session.close({ closeCode: 0, reason: 'dial failed' });
    } catch {
      // Never opened.
    }
    if (error instanceof DialError) throw error;
    throw new DialError(`rpcx: dial ${url} failed: ${messageOf(error)}`, error);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
