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
import { ClosedError } from '../errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import { DEFAULT_MAX_DECOMPRESSED_LENGTH, DEFAULT_MAX_FRAME_LENGTH } from '../protocol/constants.js';
import { getTransport, parseEndpoint } from '../transport/registry.js';
import type { Listener, ListenOptions } from '../transport/transport.js';
import '../transport/builtin.js';
import '../protocol/gzip.js';
import '../codec/index.js';
import { Dispatcher } from './dispatcher.js';
import { ServerConnection } from './server-connection.js';
import { ServiceRegistry, type Handler, type RegisterOptions, type ServiceClass, type ServiceEntry } from './service-registry.js';
import type { MethodOptions } from './decorators.js';
import type { Registrar } from '../registry/registrar.js';

export interface ServerOptions {
  /** A frame larger than this closes its connection (default 64 MiB). */
  maxFrameLength?: number;
  /** A compressed payload may not inflate past this (default 64 MiB). */
  maxDecompressedLength?: number;
  /** How long close() waits for in-flight calls before closing connections anyway (default 10 s). */
  shutdownTimeoutMs?: number;
  /**
   * On close, how long to keep serving normally after deregistering from registries, so that clients watching the
   * registry move away before this server refuses anything (default 300 ms; only when registrars are attached).
   */
  deregisterDelayMs?: number;
  /** The host to advertise in registries when listening on a wildcard address (default 127.0.0.1). */
  advertiseHost?: string;
  logger?: Logger;
}

export interface CloseOptions {
  /** Overrides the server's shutdownTimeoutMs. */
  timeoutMs?: number;
}

export class Server {
  readonly registry = new ServiceRegistry();
  readonly logger: Logger;
  readonly #options: Required<Omit<ServerOptions, 'logger'>>;
  readonly #registrars: Registrar[] = [];
  readonly #dispatcher: Dispatcher;
  readonly #listeners: Listener[] = [];
  readonly #connections = new Set<ServerConnection>();
  #closing: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    this.logger = options.logger ?? stderrLogger;
    this.#options = {
      maxFrameLength: options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
      maxDecompressedLength: options.maxDecompressedLength ?? DEFAULT_MAX_DECOMPRESSED_LENGTH,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
      deregisterDelayMs: options.deregisterDelayMs ?? 300,
      advertiseHost: options.advertiseHost ?? '127.0.0.1',
    };
    this.#dispatcher = new Dispatcher(this.registry, { maxDecompressedLength: this.#options.maxDecompressedLength, logger: this.logger });
  }

  /** Registers a service class (resolved through tsyringe) or instance. `metadata` is an rpcx query string. */
  register(target: ServiceClass | object, options?: RegisterOptions | string): ServiceEntry {
    const entry = this.registry.register(target, typeof options === 'string' ? { metadata: options } : options);
    // Services added after serve() are advertised on every listener too.
    for (const registrar of this.#registrars) {
      for (const endpoint of this.advertisedEndpoints) {
        registrar.register(endpoint, [{ name: entry.name, metadata: entry.metadata }]).catch((error: Error) => this.logger.error('registry registration failed', { error }));
      }
    }
    return entry;
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
    const listener = await getTransport(network).listen(network, address, options, (conn) => {
      if (this.#closing) {
        conn.destroy();
        return;
      }
      const connection = new ServerConnection(
        conn,
        this.#dispatcher,
        { maxFrameLength: this.#options.maxFrameLength, logger: this.logger },
        (closed, error) => {
          this.#connections.delete(closed);
          if (error && !(error as { code?: string }).code?.startsWith('ERR_RPCX')) {
            this.logger.debug('connection closed with error', { remote: closed.remoteAddress, error });
          }
        },
      );
      this.#connections.add(connection);
    });
    this.#listeners.push(listener);
    this.logger.info('serving', { network: listener.network, address: listener.address });
    for (const registrar of this.#registrars) await registrar.register(advertise(listener, this.#options.advertiseHost), this.#serviceRecords());
    return listener;
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

  /** Calls in flight across all connections. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.#connections) n += c.inFlight;
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
    await Promise.all(this.#listeners.map((l) => l.close().catch(() => undefined)));
    const connections = [...this.#connections];
    for (const c of connections) c.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(connections.map((c) => c.idle())), timedOut]);
    if (timer) clearTimeout(timer);
    for (const c of connections) c.close();
    // Give graceful ends a moment, then cut whatever is left.
    if (this.#connections.size > 0) await new Promise<void>((resolve) => setTimeout(resolve, 20));
    for (const c of this.#connections) c.destroy();
  }
}

/** `network@address` as a client should dial it. */
function advertise(listener: Listener, advertiseHost: string): string {
  const network = listener.network === 'reuseport' ? 'tcp' : listener.network;
  const address = listener.address.replace(/^(0\.0\.0\.0|\[::\]|::)(?=:\d+$)/, advertiseHost);
  return `${network}@${address}`;
}
