/** Servers with a per-instance call counter, a delaying TCP proxy, and small utilities for the XClient tests. */
import net from 'node:net';
import { method, service, Server, ServiceError, type CallContext } from '../../index.js';
import { silentLogger } from '../../logger.js';
import { freePort } from './ports.js';

/** `Counter` service: every instance counts the calls it served and answers with its own id. */
@service('Counter')
export class Counter {
  hits = 0;
  /** Added to every Sleep, to make this one server slow. */
  extraDelayMs = 0;
  readonly byMethod = new Map<string, number>();
  readonly #held = new Set<() => void>();
  constructor(readonly id: string) {}

  #count(name: string): void {
    this.hits++;
    this.byMethod.set(name, (this.byMethod.get(name) ?? 0) + 1);
  }

  @method()
  hit(_args: unknown): string {
    this.#count('Hit');
    return this.id;
  }

  /** Answers after `Ms` milliseconds (0: at once). */
  @method()
  async sleep(args: { Ms: number }): Promise<string> {
    this.#count('Sleep');
    const ms = args.Ms + this.extraDelayMs;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return this.id;
  }

  /** Answers only when the test calls release(). */
  @method()
  async hold(_args: unknown): Promise<string> {
    this.#count('Hold');
    await new Promise<void>((resolve) => this.#held.add(resolve));
    return this.id;
  }

  /** Always a service error. */
  @method()
  fail(_args: unknown): never {
    this.#count('Fail');
    throw new ServiceError(`failure from ${this.id}`);
  }

  /** The `__ServerTimeout` the client sent (as a number; 0 when absent). */
  @method()
  timeout(_args: unknown, ctx: CallContext): number {
    this.#count('Timeout');
    return Number(ctx.metadata['__ServerTimeout'] ?? 0);
  }

  count(name: string): number {
    return this.byMethod.get(name) ?? 0;
  }

  release(): void {
    for (const resolve of this.#held) resolve();
    this.#held.clear();
  }
}

export interface CounterServer {
  id: string;
  server: Server;
  endpoint: string;
  counter: Counter;
  /** Stops at once (in-flight calls are cut). */
  kill(): Promise<void>;
}

export async function startCounterServer(id: string, metadata = '', endpoint = 'tcp@127.0.0.1:0'): Promise<CounterServer> {
  const server = new Server({ logger: silentLogger, shutdownTimeoutMs: 200 });
  const counter = new Counter(id);
  server.register(counter, { metadata });
  const listener = await server.serve(endpoint);
  const address = `${listener.network}@${listener.address}`;
  return {
    id,
    server,
    endpoint: address,
    counter,
    kill: async () => {
      counter.release();
      await server.close({ timeoutMs: 0 });
    },
  };
}

export async function startCounterServers(ids: string[], metadata: (id: string, i: number) => string = () => ''): Promise<CounterServer[]> {
  return Promise.all(ids.map((id, i) => startCounterServer(id, metadata(id, i))));
}

export async function stopAll(servers: CounterServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.kill().catch(() => undefined)));
}

/** A TCP proxy on loopback that forwards bytes both ways after `delayMs`: a slow link to `target` (host:port). */
export async function startDelayProxy(target: string, delayMs: number): Promise<{ endpoint: string; close(): Promise<void> }> {
  const [host, port] = splitHostPort(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, host);
    sockets.add(inbound).add(outbound);
    const pipe = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk) => {
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
        }, delayMs);
      });
      from.on('close', () => setTimeout(() => to.destroy(), delayMs));
      from.on('error', () => undefined);
    };
    pipe(inbound, outbound);
    pipe(outbound, inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    endpoint: `tcp@127.0.0.1:${proxyPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(endpoint: string): [string, number] {
  const address = endpoint.includes('@') ? endpoint.slice(endpoint.indexOf('@') + 1) : endpoint;
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** A TCP server that accepts, reads the first bytes and hangs up: every call on it fails with a closed connection. */
export async function startFlakyServer(): Promise<{ endpoint: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `tcp@127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A free loopback port nobody listens on (bound, then released). */
export async function deadEndpoint(): Promise<string> {
  return `tcp@127.0.0.1:${await freePort()}`;
}

/** Runs `total` calls, at most `concurrency` at a time. */
export async function runCalls(total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
