/**
 * A `Conn` over a WebSocket, written against the standard browser WebSocket API only (no Node APIs), so the same
 * code runs in browsers, on Node's global WebSocket and on the `ws` package's sockets. rpcx frames travel as binary
 * messages; message boundaries carry no meaning (a message may hold several frames, or part of one).
 */
import { ConnectionClosedError, DialError } from '../errors.js';
import { RPCX_PATH } from '../protocol/constants.js';
import { ConnBase } from './conn-base.js';

/** The subset of the WebSocket API this adapter uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: (event: unknown) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
  /** Stops reading from the network (the `ws` package has it; browsers do not, so messages are held instead). */
  pause?(): void;
  resume?(): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

const OPEN = 1;
/** The standard API has no drain event: while a write waits for drain, bufferedAmount is looked at this often. */
const DRAIN_POLL_MS = 5;

export class WebSocketConn extends ConnBase {
  readonly #socket: WebSocketLike;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(network: string, socket: WebSocketLike, remoteAddress: string, localAddress = '', highWaterMark?: number) {
    super(network, remoteAddress, localAddress, highWaterMark);
    this.#socket = socket;
    // Not read until someone listens (where the socket can pause; elsewhere messages are held until onData).
    socket.pause?.();
    socket.addEventListener('message', (event) => {
      const chunk = toBytes(event.data);
      if (chunk) this.received(chunk);
    });
    socket.addEventListener('error', (event) => {
      const message = (event as { message?: string }).message ?? 'websocket error';
      this.noteError(new ConnectionClosedError(`rpcx: ${message}`));
    });
    socket.addEventListener('close', () => {
      if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
      this.closedWith(undefined);
    });
  }

  override get closed(): boolean {
    return super.closed || this.#socket.readyState > OPEN;
  }

  get writableLength(): number {
    return this.#socket.bufferedAmount;
  }

  protected send(data: Uint8Array): void {
    this.#socket.send(data);
    if (this.full) this.#drainTimer ??= setTimeout(this.#pollDrain, DRAIN_POLL_MS);
  }

  readonly #pollDrain = (): void => {
    this.#drainTimer = undefined;
    if (this.closed) return;
    if (this.full) this.#drainTimer = setTimeout(this.#pollDrain, DRAIN_POLL_MS);
    else this.drained();
  };

  protected readingChanged(reading: boolean): void {
    if (reading) this.#socket.resume?.();
    else this.#socket.pause?.();
  }

  end(): void {
    this.#socket.close(1000, 'closed');
  }

  destroy(error?: Error): void {
    if (error) this.noteError(error);
    this.#socket.close(1000, error ? 'error' : 'closed');
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) {
    // ws's 'fragments' binary type: concatenate.
    const parts = data as Uint8Array[];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  return undefined;
}

/** Opens a WebSocket and resolves once it is open. Browser-safe. */
export function openWebSocket(
  Ctor: WebSocketConstructor,
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  make: (Ctor: WebSocketConstructor, url: string) => WebSocketLike = (C, u) => new C(u),
): Promise<WebSocketLike> {
  return new Promise((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = make(Ctor, url);
    } catch (error) {
      reject(new DialError(`rpcx: dial ${url} failed: ${(error as Error).message}`, error));
      return;
    }
    socket.binaryType = 'arraybuffer';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      socket.removeEventListener('open', onOpen);
      socket.removeEventListener('error', onError);
      socket.removeEventListener('close', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (message: string, cause?: unknown): void => {
      cleanup();
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened may throw; nothing to release.
      }
      reject(new DialError(`rpcx: dial ${url} ${message}`, cause));
    };
    const onOpen = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (event: unknown): void => fail(`failed: ${(event as { message?: string }).message ?? 'websocket error'}`, event);
    const onAbort = (): void => fail('aborted', signal?.reason);
    if (signal?.aborted) return onAbort();
    socket.addEventListener('open', onOpen);
    socket.addEventListener('error', onError);
    socket.addEventListener('close', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs > 0) timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
  });
}

/** `host:port` or `host:port/path` → the rpcx WebSocket URL (default path `/_rpcx_`). */
export function webSocketUrl(network: 'ws' | 'wss', address: string): string {
  const slash = address.indexOf('/');
  const hostPort = slash < 0 ? address : address.slice(0, slash);
  const path = slash < 0 ? RPCX_PATH : address.slice(slash);
  return `${network}://${hostPort}${path}`;
}
