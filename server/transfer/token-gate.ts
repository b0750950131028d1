/**
 * The side listener behind rpcx's file transfer and stream service. A token call on the rpcx connection gets a
 * token (32 random bytes) and this listener's address; the client dials here and writes the token before anything
 * else, with no framing; the listener sends nothing back. A valid token hands the connection (positioned right after
 * the token) to its owner; an unknown, reused or expired token closes it without a byte, as Go's rpcx does.
 *
 * Unlike Go (an LRU of 1000 tokens, never expiring), tokens here also expire: an unused one is forgotten after
 * `tokenTtlMs`, and at most `maxWaiting` wait at once (the oldest goes first). A client that connects and does not
 * send its token within `handshakeTimeoutMs` is dropped.
 */
import net from 'node:net';
import type { Logger } from '../../logger.js';
import { TOKEN_LENGTH, type TransferReply } from '../../protocol/transfer-structs.js';
import { nodeCrypto, nodeTls } from '../../lazy-builtins.js';
import { tlsServerOptions } from '../../transport/tcp.js';
import { joinHostPort, splitHostPort } from '../../transport/networks.js';
import type { TlsOptions } from '../../transport/transport.js';

export interface TokenGateOptions {
  /** `host:port` to listen on (TCP; port 0 picks one). */
  listen: string;
  /** The address handed to clients instead of the bound one (e.g. a public `host:port`). */
  advertise?: string;
  /**
   * TLS for the data connections. Go rpcx clients always dial these in plain TCP: pass `false` to serve them
   * when the main listener is TLS (or see allowPlain). Default: the TLS settings of the server's first TLS listener
   * served before this side service was enabled, else none.
   */
  tls?: TlsOptions | false;
  /**
   * With TLS: also take plain-TCP data connections on the same port, for Go rpcx clients (they always dial plain
   * TCP). A connection whose first byte starts a TLS handshake (0x16) gets TLS; tokens never start with that byte.
   */
  allowPlain?: boolean;
  /** An unused token is forgotten after this long (default 60 s). */
  tokenTtlMs?: number;
  /** Most tokens waiting at once; issuing one more forgets the oldest (default 1000, as rpcx). */
  maxWaiting?: number;
  /** A data connection must deliver its token within this time (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Data connections open at once, with or without a token yet; more are closed as they come (default 1024). */
  maxConnections?: number;
}

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;

interface Waiting<T> {
  readonly value: T;
  readonly expiresAt: number;
}

/** An accepted data connection with its token's payload: nothing past the token has been read from `socket`. */
export type TokenHandler<T> = (socket: net.Socket, value: T) => void;

export class TokenGate<T> {
  readonly #server: net.Server;
  readonly #options: Required<Omit<TokenGateOptions, 'advertise' | 'tls' | 'allowPlain' | 'maxConnections'>>;
  readonly #logger: Logger;
  readonly #waiting = new Map<string, Waiting<T>>();
  readonly #sockets = new Set<net.Socket>();
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** What clients are told to dial. */
  readonly address: string;
  /** True when the data connections are TLS. */
  readonly secure: boolean;

  static async open<T>(options: TokenGateOptions, tlsDefault: TlsOptions | undefined, logger: Logger, onConnection: TokenHandler<T>): Promise<TokenGate<T>> {
    const tlsOptions = options.tls === false ? undefined : (options.tls ?? tlsDefault);
    // Half-open: an upload ends its side when the file is sent; the server still answers by closing its own.
    const sniffing = tlsOptions !== undefined && options.allowPlain === true;
    const server =
      tlsOptions && !sniffing ? nodeTls().createServer({ ...tlsServerOptions(tlsOptions), allowHalfOpen: true }) : net.createServer({ allowHalfOpen: true, noDelay: true });
    server.maxConnections = options.maxConnections ?? 1024;
    const { host, port } = splitHostPort(options.listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    // Like Go, a wildcard listen address is handed out without a host (`:port`): the client dials the host it
    // already reached the rpcx server on.
    const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
    const address = options.advertise ?? joinHostPort(wildcard ? '' : bound.address, bound.port);
    const gate = new TokenGate<T>(server, options, address, tlsOptions !== undefined, logger);
    if (sniffing) server.on('connection', (socket: net.Socket) => gate.#sniff(socket, tlsOptions, onConnection));
    else server.on(tlsOptions ? 'secureConnection' : 'connection', (socket: net.Socket) => gate.#accept(socket, onConnection));
    return gate;
  }

  private constructor(server: net.Server, options: TokenGateOptions, address: string, secure: boolean, logger: Logger) {
    this.#server = server;
    this.address = address;
    this.secure = secure;
    this.#logger = logger;
    this.#options = {
      listen: options.listen,
      tokenTtlMs: options.tokenTtlMs ?? 60_000,
      maxWaiting: options.maxWaiting ?? 1000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    };
    server.on('tlsClientError', (error: Error) => this.#logger.debug('data connection TLS handshake failed', { error: error.message }));
  }

  /** Tokens issued and not yet used or expired. */
  get waiting(): number {
    this.#expire();
    return this.#waiting.size;
  }

  /** Issues a single-use token for `value` and the reply a token call answers with. */
  issue(value: T): TransferReply {
    const token = nodeCrypto().randomBytes(TOKEN_LENGTH);
    // Never the first byte of a TLS handshake, so a listener taking both can tell them apart.
    while (token[0] === TLS_HANDSHAKE) token[0] = nodeCrypto().randomBytes(1)[0]!;
    this.#expire();
    while (this.#waiting.size >= this.#options.maxWaiting) {
      const oldest = this.#waiting.keys().next().value as string;
      this.#waiting.delete(oldest);
    }
    this.#waiting.set(token.toString('hex'), { value, expiresAt: Date.now() + this.#options.tokenTtlMs });
    this.#scheduleExpiry();
    return { Token: new Uint8Array(token), Addr: this.address };
  }

  /**
   * Stops listening and forgets every token; transfers under way get up to `graceMs` to finish, then are cut.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#waiting.clear();
    this.#server.close();
    const deadline = Date.now() + graceMs;
    while (this.#sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of this.#sockets) socket.destroy();
  }

  /** TLS or plain, by the first byte. */
  #sniff(socket: net.Socket, tlsOptions: TlsOptions, onConnection: TokenHandler<T>): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), this.#options.handshakeTimeoutMs);
    timer.unref();
    socket.once('data', (first: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      socket.unshift(first);
      if (first[0] !== TLS_HANDSHAKE) return this.#accept(socket, onConnection);
      const options = tlsServerOptions(tlsOptions);
      const secure = new (nodeTls().TLSSocket)(socket, {
        isServer: true,
        secureContext: nodeTls().createSecureContext(options),
        requestCert: options.requestCert === true,
        rejectUnauthorized: options.rejectUnauthorized === true,
        ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
      });
      secure.once('secure', () => this.#accept(secure, onConnection));
      secure.on('error', (error) => {
        this.#logger.debug('data connection TLS handshake failed', { error: error.message });
        socket.destroy();
      });
    });
  }

  #accept(socket: net.Socket, onConnection: TokenHandler<T>): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', (error) => this.#logger.debug('data connection error', { remote: socket.remoteAddress, error: error.message }));
    const timer = setTimeout(() => {
      this.#logger.debug('data connection sent no token in time', { remote: socket.remoteAddress });
      socket.destroy();
    }, this.#options.handshakeTimeoutMs);
    timer.unref();
    // Read exactly the token in paused mode ('readable' + read(n)): what follows stays buffered, and once the
    // 'readable' listener is gone the socket is back to its initial state, so the owner may pipe it, iterate it or
    // listen for 'data' whenever it likes without losing a byte.
    const onReadable = (): void => {
      const token = socket.read(TOKEN_LENGTH) as Buffer | null;
      if (token === null) return; // not all 32 bytes yet
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      const key = token.toString('hex');
      const waiting = this.#waiting.get(key);
      this.#waiting.delete(key); // single use, whatever happens next
      if (token.length < TOKEN_LENGTH || !waiting || waiting.expiresAt <= Date.now()) {
        this.#logger.debug('data connection with an unknown or expired token', { remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      onConnection(socket, waiting.value);
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
  }

  #expire(): void {
    const now = Date.now();
    // Insertion order is expiry order (one TTL for all), so expired tokens are at the front.
    for (const [key, waiting] of this.#waiting) {
      if (waiting.expiresAt > now) break;
      this.#waiting.delete(key);
    }
  }

  #scheduleExpiry(): void {
    if (this.#expiryTimer !== undefined || this.#waiting.size === 0) return;
    const first = this.#waiting.values().next().value as Waiting<T>;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#expire();
      this.#scheduleExpiry();
    }, Math.max(1, first.expiresAt - Date.now()));
    this.#expiryTimer.unref();
  }
}
