/**
 * `Server`: holds the registered services and serves them on any number of listeners, one per `network@address`.
 *
 *   const server = new Server();
 *   server.register(Arith);
 *   await server.serve('tcp', '127.0.0.1:8972');
 *   ...
 *   await server.close();          // graceful: stop accepting, let in-flight calls finish (bounded), close
 */
import 'reflect-metadata';
import { Message } from '../protocol/message.js';
import { MetaKey } from '../protocol/constants.js';
import { ClosedError, ConfigError, LimitExceededError, type ProtocolError } from '../errors.js';
import { resolveLimits, type Limits } from '../limits.js';
import { ByteBudget } from '../protocol/frame-parser.js';
import { ProtocolErrorLog } from './observability/protocol-errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import { getTransport, parseEndpoint } from '../transport/networks.js';
import type { Listener, ListenOptions } from '../transport/transport.js';
import '../transport/builtin.js';
import '../protocol/gzip.js';
import '../codec/index.js';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { SocketConn } from '../transport/socket-conn.js';
import type { Conn } from '../transport/transport.js';
import { Dispatcher, type AuthFunction } from './dispatcher.js';
import type { CorsOptions } from './http/cors.js';
import type { HttpConnection } from './http/http-connection.js';
import type { GrpcConnection } from './grpc/connection.js';
import type { GrpcFrontend } from './grpc/frontend.js';
import { grpcLimits, type GrpcLimits } from './grpc/limits.js';
import type { PagesHost, PagesOption, StatusJSON } from './http/pages.js';
import type { HttpFrontend } from './http/router.js';
import { ServerMetrics } from './observability/metrics.js';
import { PluginContainer, type ConnectionInfo, type ServerPlugin } from './plugins.js';
import { RateLimitPlugin, type RateLimitOptions } from './rate-limit.js';
import { ServerConnection } from './server-connection.js';
import { ServiceRegistry, type Handler, type RegisterOptions, type ServiceClass, type ServiceEntry } from './service-registry.js';
import { sniff, sniffable } from './sniffer.js';
import { introspectionService } from './introspection.js';
import { Rpcz } from './observability/stats.js';
import { CallRecorder, type RecordOptions } from './observability/recorder.js';
import type { MethodOptions } from './decorators.js';
import type { Registrar } from '../registry/registrar.js';
import { FILE_TRANSFER_SERVICE, STREAM_SERVICE } from '../protocol/transfer-structs.js';
import type { TlsOptions } from '../transport/transport.js';
import { FileTransferService, type FileTransferOptions } from './transfer/file-transfer.js';
import { StreamService, type StreamServiceOptions } from './transfer/stream-service.js';

export interface ServerOptions {
  /**
   * Bounds on what peers can make the server hold or wait for (frame size, unfinished bytes, queued replies,
   * connections, concurrent calls, batch length, inflated size, timeouts). Any subset; see limits.ts and the README's
   * "Limits and timeouts" for defaults and what a peer sees when one is hit.
   */
  limits?: Partial<Limits>;
  /** Same as `limits.maxFrameLength`. */
  maxFrameLength?: number;
  /** Same as `limits.maxInflatedLength`. */
  maxDecompressedLength?: number;
  /** How long close() waits for in-flight calls before closing connections anyway (default 10 s). */
  shutdownTimeoutMs?: number;
  /**
   * On close, a binary connection is ended only once it has had no call in flight and received nothing for this long,
   * so that requests already on their way are refused with "shutting down" (which clients retry elsewhere) rather
   * than lost with the connection (default 100 ms; bounded by shutdownTimeoutMs).
   */
  drainQuietMs?: number;
  /**
   * On close, how long to keep serving normally after deregistering from registries, so that clients watching the
   * registry move away before this server refuses anything (default 300 ms; only when registrars are attached).
   */
  deregisterDelayMs?: number;
  /** The host to advertise in registries when listening on a wildcard address (default 127.0.0.1). */
  advertiseHost?: string;
  logger?: Logger;
  /**
   * Networks whose connections are sniffed so one port serves binary rpcx, HTTP CONNECT, the HTTP gateway,
   * JSON-RPC 2.0 and the builtin pages (default `['tcp', 'reuseport']`; TLS included). Other networks serve binary
   * rpcx only.
   */
  sniffNetworks?: string[];
  /** Serve the rpcx HTTP gateway on sniffed ports (default true). */
  httpGateway?: boolean;
  /** Serve JSON-RPC 2.0 (requests with `X-JSONRPC-2.0: true`) on sniffed ports (default true). */
  jsonRPC?: boolean;
  /**
   * Serve /status, /connections, /metrics, /rpcz, /health and /dashboard on sniffed ports (default true); false turns
   * them all off, `{ connections: false, rpcz: false }` turns off those only. With `auth` set, every page but /health
   * needs a token the auth function accepts in `Authorization` (the dashboard: `/dashboard?token=...`).
   */
  pages?: PagesOption;
  /**
   * Serve the builtin pages on a listener of their own instead of the public ports (which then answer 404 for them).
   * `listen` (`tcp@127.0.0.1:9090`, `unix@/run/rpcx-admin.sock`; TLS with `tls`) is opened by the first `serve()`;
   * `serveAdmin()` opens one explicitly. See AdminOptions.
   */
  admin?: AdminOptions;
  /**
   * Let pages from other origins call the HTTP gateway and JSON-RPC with `fetch` (rpcx's SetCORS); off by default.
   * `allowAllCors()` allows everything, as rpcx's AllowAllCORSOptions. See server/http/cors.ts.
   */
  cors?: CorsOptions;
  /** Record recent calls for /rpcz (default off); `true` keeps the last 1024. */
  rpcz?: boolean | { capacity?: number };
  /** Checks the `__AUTH` token (HTTP: `Authorization`) of every call; see AuthFunction. */
  auth?: AuthFunction;
  /** Token-bucket request rate limit (answers rpcx's "request reached rate limit"). */
  rateLimit?: RateLimitOptions;
  /** Plugins, in hook order of registration (more with `use`). */
  plugins?: ServerPlugin[];
  /** Largest HTTP request body (default: maxFrameLength); also the largest gRPC request message. */
  maxHttpBodyLength?: number;
  /**
   * Serve gRPC (HTTP/2 prior knowledge, or ALPN `h2` on TLS) on sniffed ports (default true); an object sets its
   * limits. TLS listeners without their own `alpn` then pick `h2` when a client offers it (see preferH2).
   */
  grpc?: boolean | GrpcLimits;
  /** Writes sampled calls to a bounded, rotating file that `rpcx-ts replay` sends again (see RecordOptions). */
  record?: RecordOptions;
  /** Answer `__rpcx_introspection.Services` (the services and methods offered; `rpcx-ts list`) (default true). */
  introspection?: boolean;
  /**
   * Replaces /status's answer with one built from this process's: a worker of a multi-process server (ServerCluster)
   * asks its primary for the sum over every worker. Rejecting falls back to this process's own status.
   */
  aggregateStatus?: (local: StatusJSON) => Promise<StatusJSON>;
}

/** The admin listener: builtin pages only (no calls, gateway or JSON-RPC). */
export interface AdminOptions {
  /** Where to serve the pages, `network@address` (tcp or unix). Opened by the first `serve()`. */
  listen?: string;
  /** Serve the pages over TLS (tcp only). */
  tls?: TlsOptions;
  /**
   * Whether the server's `auth` also guards the admin listener's pages (default true). false: whoever can reach
   * the admin address reads every page, for an address only operators can reach (loopback, a unix socket).
   */
  auth?: boolean;
}

/** Networks an admin listener can use: they carry HTTP on a Node socket. */
const ADMIN_NETWORKS = new Set(['tcp', 'unix']);

export interface CloseOptions {
  /** Overrides the server's shutdownTimeoutMs. */
  timeoutMs?: number;
}

export class Server {
  readonly registry = new ServiceRegistry();
  readonly logger: Logger;
  /** The registered plugins. */
  readonly plugins: PluginContainer;
  /** Recent calls, when started with `rpcz`. */
  readonly rpcz: Rpcz | undefined;
  /** Milliseconds since the epoch when the server was created. */
  readonly startedAt = Date.now();
  /** The limits in force (defaults merged with the `limits` option). */
  readonly limits: Readonly<Limits>;
  /** Connections closed on protocol errors, counted per code and logged rate-limited. */
  readonly protocolErrors: ProtocolErrorLog;
  /** One function for every binary connection's close (not a closure per connection). */
  readonly #binaryClosed = (closed: ServerConnection, error?: Error): void => {
    const conn = closed.conn;
    this.#release(conn);
    this.#connections.delete(closed);
    if (error && !(error as { code?: string }).code?.startsWith('ERR_RPCX')) {
      this.logger.debug('connection closed with error', { remote: closed.remoteAddress, error });
    }
    if (this.plugins.postConnClose.length !== 0) this.plugins.runPostConnClose(conn, error);
  };
  /** One function for every binary connection's protocol errors (not a closure per connection). */
  readonly #recordProtocolError = (remote: string, error: ProtocolError): void => this.protocolErrors.record(remote, error);
  /** Bytes held for unfinished frames across every connection. */
  readonly #unfinished: ByteBudget;
  /** Open connections, all listeners, counted from accept to close whatever protocol they turn out to speak. */
  #open = 0;
  #sweeper: NodeJS.Timeout | undefined;
  readonly #options: {
    maxFrameLength: number;
    maxDecompressedLength: number;
    shutdownTimeoutMs: number;
    drainQuietMs: number;
    deregisterDelayMs: number;
    advertiseHost: string;
    maxHttpBodyLength: number;
    sniffNetworks: Set<string>;
    httpGateway: boolean;
    jsonRPC: boolean;
    pages: PagesOption;
    admin: AdminOptions | undefined;
    grpc: boolean;
    grpcLimits: Required<GrpcLimits>;
  };
  readonly #auth: AuthFunction | undefined;
  readonly #aggregateStatus: ((local: StatusJSON) => Promise<StatusJSON>) | undefined;
  readonly #registrars: Registrar[] = [];
  readonly #recorder: CallRecorder | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #listeners: Listener[] = [];
  /** Listeners serving the builtin pages only (not advertised in registries, not in `addresses`). */
  readonly #adminListeners: Listener[] = [];
  #adminStarting: Promise<Listener> | undefined;
  readonly #connections = new Set<ServerConnection>();
  readonly #httpConnections = new Set<HttpConnection | GrpcConnection>();
  #frontend: HttpFrontend | undefined;
  #grpc: Promise<GrpcFrontend> | undefined;
  #cors: CorsOptions | undefined;
  #metrics: ServerMetrics | undefined;
  #draining = false;
  #closing: Promise<void> | undefined;
  /** TLS settings of the first TLS listener: the default for file-transfer and stream-service listeners. */
  #tls: TlsOptions | undefined;
  readonly #sideServices: Array<{ close(graceMs?: number): Promise<void> }> = [];

  constructor(options: ServerOptions = {}) {
    this.logger = options.logger ?? stderrLogger;
    const limits = resolveLimits(options.limits, {
      ...(options.maxFrameLength !== undefined ? { maxFrameLength: options.maxFrameLength } : {}),
      ...(options.maxDecompressedLength !== undefined ? { maxInflatedLength: options.maxDecompressedLength } : {}),
    });
    this.limits = Object.freeze(limits);
    this.protocolErrors = new ProtocolErrorLog(this.logger);
    this.#unfinished = new ByteBudget(limits.maxUnfinishedBytes);
    const maxFrameLength = limits.maxFrameLength;
    this.#options = {
      maxFrameLength,
      maxDecompressedLength: limits.maxInflatedLength,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
      drainQuietMs: options.drainQuietMs ?? 100,
      deregisterDelayMs: options.deregisterDelayMs ?? 300,
      advertiseHost: options.advertiseHost ?? '127.0.0.1',
      maxHttpBodyLength: options.maxHttpBodyLength ?? maxFrameLength,
      sniffNetworks: new Set(options.sniffNetworks ?? ['tcp', 'reuseport']),
      httpGateway: options.httpGateway ?? true,
      jsonRPC: options.jsonRPC ?? true,
      pages: options.pages ?? true,
      admin: options.admin,
      grpc: options.grpc !== false,
      grpcLimits: grpcLimits(typeof options.grpc === 'object' ? options.grpc : {}, limits.maxConcurrentCallsPerConnection),
    };
    if (options.introspection ?? true) this.registry.addBuiltin(introspectionService(this.registry));
    this.#auth = options.auth;
    this.#aggregateStatus = options.aggregateStatus;
    this.#cors = options.cors;
    this.plugins = new PluginContainer(this.logger);
    // The recorder goes first, so it sees every request that arrived, the ones the rate limit refuses included.
    if (options.record) this.plugins.add((this.#recorder = new CallRecorder(options.record, this.logger)));
    if (options.rateLimit) this.plugins.add(new RateLimitPlugin(options.rateLimit));
    for (const plugin of options.plugins ?? []) this.plugins.add(plugin);
    this.rpcz = options.rpcz ? new Rpcz(typeof options.rpcz === 'object' ? options.rpcz.capacity : undefined) : undefined;
    this.#dispatcher = new Dispatcher(this.registry, {
      maxDecompressedLength: this.#options.maxDecompressedLength,
      maxInflateRatio: this.limits.maxInflateRatio,
      logger: this.logger,
      plugins: this.plugins,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(this.rpcz ? { rpcz: this.rpcz } : {}),
      maxStreamsPerConnection: this.limits.maxStreamsPerConnection,
    });
  }

  /** Adds a plugin (see ServerPlugin for the hooks and their order). */
  use(plugin: ServerPlugin): this {
    this.plugins.add(plugin);
    return this;
  }

  /** Prometheus metrics (the prom-client registry behind /metrics), made on first use. */
  get metrics(): ServerMetrics {
    const dispatcher = this.#dispatcher;
    this.#metrics ??= new ServerMetrics({
      registry: this.registry,
      connectionList: () => this.connectionList(),
      get refused() {
        return dispatcher.refused;
      },
      get unknown() {
        return dispatcher.unknown;
      },
      protocolErrors: this.protocolErrors.counts,
    });
    return this.#metrics;
  }

  /** Registers a service class (resolved through tsyringe) or instance. `metadata` is an rpcx query string. */
  /**
   * Sets (or, with undefined, removes) cross-origin access to the HTTP gateway and JSON-RPC, as rpcx's SetCORS;
   * takes effect for the next request. Bad options are a ConfigError from `serve` (or, when the HTTP front already
   * runs, a 500 for the requests that would use them).
   */
  setCORS(options: CorsOptions | undefined): void {
    this.#cors = options;
  }

  register(target: ServiceClass | object, options?: RegisterOptions | string): ServiceEntry {
    const entry = this.registry.register(target, typeof options === 'string' ? { metadata: options } : options);
    this.#advertiseService(entry);
    return entry;
  }

  /** Services added after serve() are advertised on every listener too. */
  #advertiseService(entry: ServiceEntry): void {
    for (const registrar of this.#registrars) {
      for (const endpoint of this.advertisedEndpoints) {
        registrar.register(endpoint, [{ name: entry.name, metadata: entry.metadata }]).catch((error: Error) => this.logger.error('registry registration failed', { error }));
      }
    }
  }

  /**
   * Advertises every service on every listener in a registry (etcd, Redis): on each serve() from now on and for the
   * listeners already bound. close() deregisters first.
   */
  async addRegistrar(registrar: Registrar): Promise<void> {
    this.#registrars.push(registrar);
    for (const endpoint of this.advertisedEndpoints) await registrar.register(endpoint, this.#serviceRecords());
  }

  /** Listeners as clients should dial them: wildcard hosts replaced by advertiseHost, reuseport as tcp. */
  get advertisedEndpoints(): string[] {
    return this.#listeners.map((l) => advertise(l, this.#options.advertiseHost));
  }

  #serviceRecords(): Array<{ name: string; metadata: string }> {
    return this.registry.services().map((s) => ({ name: s.name, metadata: s.metadata }));
  }

  registerFunction(service: string, method: string, handler: Handler, options?: MethodOptions & { metadata?: string }): void {
    this.registry.registerFunction(service, method, handler, options);
  }

  /**
   * Serves every registered service on `network` at `address`: `serve('tcp', '127.0.0.1:8972')`, or one
   * `network@address` string: `serve('unix@/run/arith.sock')`. Port 0 picks a free port; the Listener tells which.
   */
  async serve(networkOrEndpoint: string, addressOrOptions?: string | ListenOptions, maybeOptions?: ListenOptions): Promise<Listener> {
    if (this.#closing) throw new ClosedError('rpcx: server is closed');
    let network: string;
    let address: string;
    let options: ListenOptions;
    if (typeof addressOrOptions === 'string') {
      network = networkOrEndpoint;
      address = addressOrOptions;
      options = maybeOptions ?? {};
    } else {
      ({ network, address } = parseEndpoint(networkOrEndpoint));
      options = addressOrOptions ?? {};
    }
    // The HTTP front (router, gateway, JSON-RPC, pages) is loaded only once a listener will sniff for HTTP.
    if (this.#servesHttp(network) && this.#servesHttp1()) await this.#loadFrontend();
    if (options.tls && options.tls.alpn === undefined && options.tls.alpnCallback === undefined && this.#options.grpc && this.#servesHttp(network)) {
      options = { ...options, tls: { ...options.tls, alpnCallback: preferH2 } };
    }
    // Per listener: how many of its connections are open.
    const open = { count: 0 };
    const listenOptions: ListenOptions = {
      highWaterMark: this.limits.maxQueuedOutboundBytes,
      maxConnections: this.limits.maxConnectionsPerListener,
      wsMaxPayload: this.limits.maxFrameLength,
      ...options,
    };
    const listener = await getTransport(network).listen(network, address, listenOptions, (conn) => this.#admit(conn, open));
    if (options.tls) this.#tls ??= options.tls;
    this.#listeners.push(listener);
    this.#startSweeper();
    this.logger.info('serving', { network: listener.network, address: listener.address });
    const admin = this.#options.admin;
    if (admin?.listen !== undefined && !this.#adminStarting) await this.serveAdmin(admin.listen, admin.tls ? { tls: admin.tls } : {});
    for (const registrar of this.#registrars) await registrar.register(advertise(listener, this.#options.advertiseHost), this.#serviceRecords());
    return listener;
  }

  /**
   * Serves the builtin pages (/status, /connections, /metrics, /rpcz, /health, /dashboard) on their own listener,
   * `tcp@127.0.0.1:9090` or `unix@/path`, and stops serving them on the public ports. Nothing else is answered there
   * (404). The `pages` option still turns pages off one by one; `auth` applies unless `admin.auth` is false.
   */
  async serveAdmin(endpoint: string, options: Pick<ListenOptions, 'tls'> = {}): Promise<Listener> {
    if (this.#closing) throw new ClosedError('rpcx: server is closed');
    const { network, address } = parseEndpoint(endpoint);
    if (!ADMIN_NETWORKS.has(network)) throw new ConfigError(`rpcx: the admin listener serves HTTP on tcp or unix, not ${network}`);
    const starting = (async () => {
      await this.#loadFrontend();
      const open = { count: 0 };
      const listenOptions: ListenOptions = { highWaterMark: this.limits.maxQueuedOutboundBytes, maxConnections: this.limits.maxConnectionsPerListener, ...options };
      return getTransport(network).listen(network, address, listenOptions, (conn) => this.#admit(conn, open, true));
    })();
    this.#adminStarting ??= starting;
    const listener = await starting;
    this.#adminListeners.push(listener);
    this.#startSweeper();
    this.logger.info('serving pages', { network: listener.network, address: listener.address });
    return listener;
  }

  /** The admin listeners as `network@address`, with real ports. */
  get adminAddresses(): string[] {
    return this.#adminListeners.map((l) => `${l.network}@${l.address}`);
  }

  /** True when the pages live on an admin listener (configured or opened), so the public ports do not serve them. */
  get #pagesOnAdmin(): boolean {
    return this.#options.admin !== undefined || this.#adminStarting !== undefined;
  }

  /**
   * rpcx's file transfer: registers `_filetransfer` (TransferFile, DownloadFile) and listens for data connections
   * on `options.listen`. TLS when the server already serves TLS (or `options.tls`); see FileTransferOptions.
   */
  async enableFileTransfer(options: FileTransferOptions): Promise<FileTransferService> {
    if (this.#closing) throw new ClosedError('rpcx: server is closed');
    const service = await FileTransferService.start(options, this.#tls, this.logger);
    this.#sideServices.push(service);
    this.registerFunction(FILE_TRANSFER_SERVICE, 'TransferFile', (args, ctx) => service.transferFile(args, ctx));
    this.registerFunction(FILE_TRANSFER_SERVICE, 'DownloadFile', (args, ctx) => service.downloadFile(args, ctx));
    // Go clients find it by its service name in a registry, as any other service.
    this.#advertiseService(this.registry.get(FILE_TRANSFER_SERVICE)!);
    return service;
  }

  /** rpcx's stream service: registers `_streamservice.Stream` and listens for data connections on `options.listen`. */
  async enableStreamService(options: StreamServiceOptions): Promise<StreamService> {
    if (this.#closing) throw new ClosedError('rpcx: server is closed');
    const service = await StreamService.start(options, this.#tls, this.logger);
    this.#sideServices.push(service);
    this.registerFunction(STREAM_SERVICE, 'Stream', (args, ctx) => service.stream(args, ctx));
    this.#advertiseService(this.registry.get(STREAM_SERVICE)!);
    return service;
  }

  /** Applies the connection limits, then counts the connection until it closes. */
  #admit(conn: Conn, listenerOpen: { count: number }, admin = false): void {
    const limits = this.limits;
    if (this.#open >= limits.maxConnections || listenerOpen.count >= limits.maxConnectionsPerListener) {
      const which = this.#open >= limits.maxConnections ? 'maxConnections' : 'maxConnectionsPerListener';
      this.protocolErrors.record(conn.remoteAddress, new LimitExceededError(which, 'connection refused at accept'));
      conn.destroy();
      return;
    }
    this.#open++;
    listenerOpen.count++;
    this.#released.set(conn, () => {
      this.#open--;
      listenerOpen.count--;
    });
    this.#accept(conn, admin);
  }

  /** Called by every path a connection can close on (binary, HTTP, closed while sniffing); counts it once. */
  #release(conn: Conn): void {
    const release = this.#released.get(conn);
    if (release === undefined) return;
    this.#released.delete(conn);
    release();
  }

  readonly #released = new WeakMap<Conn, () => void>();

  /** Frame and idle timeouts are checked by one timer for all connections, not one timer each. */
  #startSweeper(): void {
    if (this.#sweeper) return;
    const limits = this.limits;
    const timeouts = [limits.frameTimeoutMs, limits.idleTimeoutMs, limits.httpHeadersTimeoutMs, limits.httpRequestTimeoutMs, limits.httpKeepAliveTimeoutMs];
    if (this.#options.grpc) timeouts.push(this.#options.grpcLimits.idleTimeoutMs);
    const shortest = Math.min(...timeouts.filter((t) => t > 0));
    if (!Number.isFinite(shortest)) return;
    const period = Math.max(10, Math.min(1000, shortest / 4));
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const c of this.#connections) c.checkTimeouts(now);
      for (const c of this.#httpConnections) c.checkTimeouts(now, limits);
    }, period);
    this.#sweeper.unref();
  }

  #accept(conn: Conn, admin: boolean): void {
    const refuse = (): void => {
      this.#release(conn);
      conn.destroy();
    };
    if (this.#closing) return refuse();
    if (this.plugins.postConnAccept.length !== 0) {
      const accepted = this.plugins.runPostConnAccept(conn);
      if (accepted === false) return refuse();
      if (accepted !== true) {
        // An async postConnAccept: nothing is read until it has decided (a Conn holds its input until onData).
        void accepted.then((ok) => (!ok || this.#closing || conn.closed ? refuse() : this.#route(conn, admin)));
        return;
      }
    }
    this.#route(conn, admin);
  }

  /** Sniffs the protocol on ports that serve HTTP too; binary rpcx everywhere else. */
  #route(conn: Conn, admin: boolean): void {
    if (admin) {
      // An admin listener speaks HTTP only: no sniffing, no binary rpcx.
      if (sniffable(conn)) return this.#serveHttp(conn, conn.socket, true);
      this.#release(conn);
      conn.destroy();
      return;
    }
    if (this.#servesHttp(conn.network) && sniffable(conn)) {
      sniff(conn, {
        binary: (c, head) => this.#serveBinary(c, head),
        http: (c, socket) => this.#serveHttp(c, socket),
        ...(this.#options.grpc ? { http2: (c: SocketConn, socket: Socket) => this.#serveGrpc(c, socket) } : {}),
        closed: (c, error) => {
          this.#release(c);
          if (this.plugins.postConnClose.length !== 0) this.plugins.runPostConnClose(c, error);
        },
      }, this.limits.httpHeadersTimeoutMs);
      return;
    }
    this.#serveBinary(conn, undefined);
  }

  #serveBinary(conn: Conn, head: Uint8Array | undefined): void {
    const connection = new ServerConnection(
      conn,
      this.#dispatcher,
      {
        limits: this.limits,
        unfinishedBudget: this.#unfinished,
        logger: this.logger,
        protocolError: this.#recordProtocolError,
        plugins: this.plugins,
        ...(head ? { head } : {}),
      },
      this.#binaryClosed,
    );
    if (this.#draining) connection.draining = true;
    if (!connection.closed) this.#connections.add(connection);
  }

  #serveHttp(conn: SocketConn, socket: Socket, admin = false): void {
    // Sniffed for gRPC only: HTTP/1.1 is not served (and its front end never loaded).
    if (this.#frontend === undefined) {
      this.#release(conn);
      conn.destroy();
      return;
    }
    const connection = this.#frontend.accept(conn, socket, admin);
    if (this.#draining) connection.draining = true;
    this.#httpConnections.add(connection);
  }

  /** gRPC's front end loads with the first HTTP/2 connection; the socket waits, paused, meanwhile. */
  #serveGrpc(conn: SocketConn, socket: Socket): void {
    this.#grpc ??= import('./grpc/frontend.js').then(
      ({ GrpcFrontend }) =>
        new GrpcFrontend({
          dispatcher: this.#dispatcher,
          registry: this.registry,
          plugins: this.plugins,
          logger: this.logger,
          maxMessageLength: this.#options.maxHttpBodyLength,
          maxDecompressedLength: this.#options.maxDecompressedLength,
          limits: this.#options.grpcLimits,
          connectionClosed: (connection, error) => {
            this.#release(connection.conn);
            this.#httpConnections.delete(connection);
            if (this.plugins.postConnClose.length !== 0) this.plugins.runPostConnClose(connection.conn, error);
          },
        }),
    );
    this.#grpc.then(
      (frontend) => {
        if (conn.closed) return this.#release(conn);
        const connection = frontend.accept(conn, socket);
        if (this.#draining) connection.draining = true;
        this.#httpConnections.add(connection);
      },
      (error: Error) => {
        this.logger.error('gRPC front end failed to load', { error });
        this.#release(conn);
        conn.destroy(error);
      },
    );
  }

  /** Whether connections on `network` are sniffed (for HTTP/1.1 or gRPC). */
  #servesHttp(network: string): boolean {
    return (this.#servesHttp1() || this.#options.grpc) && this.#options.sniffNetworks.has(network);
  }

  #servesHttp1(): boolean {
    const options = this.#options;
    return options.httpGateway || options.jsonRPC || (options.pages !== false && !this.#pagesOnAdmin);
  }

  async #loadFrontend(): Promise<void> {
    if (this.#frontend) return;
    const [{ HttpFrontend }, { servePage }] = await Promise.all([import('./http/router.js'), import('./http/pages.js')]);
    const options = this.#options;
    const pagesOnAdmin = (): boolean => this.#pagesOnAdmin;
    this.#frontend ??= new HttpFrontend({
      dispatcher: this.#dispatcher,
      plugins: this.plugins,
      logger: this.logger,
      maxBodyLength: options.maxHttpBodyLength,
      limits: this.limits,
      gateway: options.httpGateway,
      jsonRpc: options.jsonRPC,
      // Read per request: opening an admin listener takes the pages off the public ports from then on.
      get pages() {
        return options.pages !== false && !pagesOnAdmin();
      },
      cors: () => this.#cors,
      servePage: (path: string, req: http.IncomingMessage, res: http.ServerResponse, connection: HttpConnection) =>
        servePage(this.#pagesHost(connection), path, req, res),
      connectionClosed: (connection: HttpConnection, error?: Error) => {
        this.#release(connection.conn);
        this.#httpConnections.delete(connection);
        if (this.plugins.postConnClose.length !== 0) this.plugins.runPostConnClose(connection.conn, error);
      },
    });
  }

  /** What /status answers for this process (services, per-method calls, errors and latency, connections, memory). */
  async status(): Promise<StatusJSON> {
    const { statusJson } = await import('./http/pages.js');
    return statusJson(this.#pagesHost());
  }

  #pagesHost(connection?: HttpConnection): PagesHost {
    const dispatcher = this.#dispatcher;
    // The admin listener's pages are open when the admin options say its address is guard enough.
    const auth = connection?.admin && this.#options.admin?.auth === false ? undefined : this.#auth;
    return {
      pages: this.#options.pages,
      // Pages ask the same auth function as calls, as a call to the pseudo service `_pages` (method: the page name);
      // status() is the process asking itself and needs none.
      ...(auth && connection
        ? {
            authorize: async (token: string | undefined, page: string) =>
              (await auth(token, new Message({ servicePath: '_pages', serviceMethod: page, metadata: token === undefined ? {} : { [MetaKey.Auth]: token } }), connection)) !== false,
          }
        : {}),
      startedAt: this.startedAt,
      addresses: this.addresses,
      adminAddresses: this.adminAddresses,
      draining: this.#draining,
      registry: this.registry,
      rpcz: this.rpcz,
      refused: dispatcher.refused,
      unknown: dispatcher.unknown,
      connectionList: () => this.connectionList(),
      metrics: () => this.metrics,
      flags: () => this.#flags(),
      ...(this.#aggregateStatus ? { aggregateStatus: this.#aggregateStatus } : {}),
    };
  }

  /** The effective options as /flags shows them: every setting (defaults applied), networks and plugins. */
  #flags(): Record<string, unknown> {
    const options: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.#options)) options[key] = value instanceof Set ? [...value] : value;
    return {
      ...options,
      auth: this.#dispatcher.authenticates,
      rpcz: this.rpcz ? { capacity: this.rpcz.capacity } : false,
      listeners: this.addresses,
      adminListeners: this.adminAddresses,
      // A plugin may expose its effective settings (the rate limiter does).
      plugins: this.plugins.all.map((p) => {
        const settings = (p as { settings?: unknown }).settings;
        return { name: p.name ?? p.constructor.name, ...(settings !== undefined ? { settings } : {}) };
      }),
      node: process.version,
      pid: process.pid,
    };
  }

  /** Every open connection (binary and HTTP), as plugins and /connections see them. */
  connectionList(): ConnectionInfo[] {
    return [...this.#connections, ...this.#httpConnections];
  }

  /** Every listener as `network@address`, with real ports. */
  get addresses(): string[] {
    return this.#listeners.map((l) => `${l.network}@${l.address}`);
  }

  get listeners(): readonly Listener[] {
    return this.#listeners;
  }

  get connections(): ReadonlySet<ServerConnection> {
    return this.#connections;
  }

  /** Connections speaking HTTP (gateway, JSON-RPC, pages) and HTTP/2 (gRPC). */
  get httpConnections(): ReadonlySet<HttpConnection | GrpcConnection> {
    return this.#httpConnections;
  }

  /** Calls in flight across all connections. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.#connections) n += c.inFlight;
    for (const c of this.#httpConnections) n += c.inFlight;
    return n;
  }

  /**
   * Graceful shutdown: stops accepting, lets in-flight calls finish and their replies go out (bounded by the
   * shutdown timeout), then closes every connection. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.timeoutMs ?? this.#options.shutdownTimeoutMs);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    if (this.#registrars.length > 0) {
      // Leave the registries first and keep serving while clients notice; only then stop accepting and drain.
      await Promise.all(this.#registrars.map((r) => r.close().catch((error: Error) => this.logger.warn('registry deregistration failed', { error }))));
      await new Promise((resolve) => setTimeout(resolve, this.#options.deregisterDelayMs));
    }
    await Promise.all([...this.#listeners, ...this.#adminListeners].map((l) => l.close().catch(() => undefined)));
    // File transfers under way get the same grace as in-flight calls.
    const sideServicesClosed = Promise.all(this.#sideServices.map((s) => s.close(timeoutMs).catch(() => undefined)));
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.protocolErrors.close();
    this.#draining = true;
    const connections: Array<ServerConnection | HttpConnection | GrpcConnection> = [...this.#connections, ...this.#httpConnections];
    for (const c of connections) c.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const quietMs = this.#options.drainQuietMs;
    await Promise.race([Promise.all(connections.map((c) => (c instanceof ServerConnection ? c.quiet(quietMs) : c.idle()))), timedOut]);
    if (timer) clearTimeout(timer);
    for (const c of connections) c.close();
    // Give graceful ends a moment, then cut whatever is left.
    if (this.#connections.size > 0 || this.#httpConnections.size > 0) await new Promise<void>((resolve) => setTimeout(resolve, 20));
    for (const c of this.#connections) c.destroy();
    for (const c of this.#httpConnections) c.destroy();
    await sideServicesClosed;
    // Listeners whose connections shared their socket (QUIC) let go of their port only now; bounded, so a transport
    // that never reports cannot hold up the shutdown.
    const released = [...this.#listeners, ...this.#adminListeners].map((l) => l.released?.()).filter((p) => p !== undefined);
    if (released.length > 0) {
      let releaseTimer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(released), new Promise<void>((resolve) => (releaseTimer = setTimeout(resolve, LISTENER_RELEASE_WAIT_MS)))]);
      clearTimeout(releaseTimer);
    }
    await this.#recorder?.close();
  }
}

/** How long a shutdown waits for listeners to release their addresses once every connection is gone. */
const LISTENER_RELEASE_WAIT_MS = 2000;

/** `network@address` as a client should dial it. */
function advertise(listener: Listener, advertiseHost: string): string {
  const network = listener.network === 'reuseport' ? 'tcp' : listener.network;
  const address = listener.address.replace(/^(0\.0\.0\.0|\[::\]|::)(?=:\d+$)/, advertiseHost);
  return `${network}@${address}`;
}

/**
 * ALPN on a sniffed TLS port: h2 (gRPC) when offered, else http/1.1, else whatever the client offered first, so a
 * client asking for a protocol of its own (or none) still connects as it did before gRPC was served.
 */
function preferH2({ protocols }: { protocols: string[] }): string | undefined {
  if (protocols.includes('h2')) return 'h2';
  if (protocols.includes('http/1.1')) return 'http/1.1';
  return protocols[0];
}
