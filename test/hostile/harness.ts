/**
 * Shared by the hostile suite: the server under attack runs in a child process (server-process.ts) so its memory and
 * event loop are measured alone; a good client measures its latency while an attack runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { FrameParser } from '../../protocol/frame-parser.js';
import { Message } from '../../protocol/message.js';
import { SerializeType } from '../../protocol/constants.js';
import { distDir } from '../helpers/paths.js';
import type { ChildConfig } from './server-process.js';

export interface ServerStats {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  loopMaxMs: number;
  loopP99Ms: number;
  connections: number;
  httpConnections: number;
  protocolErrors: number;
  inFlight: number;
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly endpoints: string[];
  stderr = '';
  readonly #lines: Interface;
  #waiters: Array<{ prefix: string; resolve: (line: string) => void }> = [];

  private constructor(child: ChildProcess, endpoints: string[], lines: Interface) {
    this.child = child;
    this.endpoints = endpoints;
    this.#lines = lines;
    lines.on('line', (line) => {
      const at = this.#waiters.findIndex((w) => line.startsWith(w.prefix));
      if (at >= 0) this.#waiters.splice(at, 1)[0]!.resolve(line);
    });
  }

  static async start(config: ChildConfig): Promise<ServerProcess> {
    const script = join(distDir, 'test', 'hostile', 'server-process.js');
    const child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const lines = createInterface({ input: child.stdout! });
    const endpoints: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server process did not start; stderr: ${stderr}`)), 20_000);
      const onLine = (line: string): void => {
        const m = /^listening (\S+)$/.exec(line);
        if (m) endpoints.push(m[1]!);
        if (endpoints.length === config.endpoints.length) {
          clearTimeout(timer);
          lines.off('line', onLine);
          resolve();
        }
      };
      lines.on('line', onLine);
      child.once('exit', (code) => reject(new Error(`server process exited with ${code}: ${stderr}`)));
    });
    const server = new ServerProcess(child, endpoints, lines);
    server.stderr = stderr;
    child.stderr!.on('data', (c: Buffer) => (server.stderr += c.toString()));
    return server;
  }

  /** host and port of the first listener (or of the listener on `network`). */
  address(network = 'tcp'): { host: string; port: number; endpoint: string } {
    const endpoint = this.endpoints.find((e) => e.startsWith(network + '@')) ?? this.endpoints[0]!;
    const hostPort = endpoint.slice(endpoint.indexOf('@') + 1).split('/')[0]!;
    const colon = hostPort.lastIndexOf(':');
    return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)), endpoint };
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  #ask(command: string, prefix: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${command}; stderr: ${this.stderr}`)), 20_000);
      this.#waiters.push({
        prefix,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      this.child.stdin!.write(command + '\n');
    });
  }

  async stats(): Promise<ServerStats> {
    const line = await this.#ask('stats', 'stats ');
    return JSON.parse(line.slice('stats '.length)) as ServerStats;
  }

  async resetLoop(): Promise<void> {
    await this.#ask('reset-loop', 'reset-loop');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
    this.#lines.close();
  }
}

export interface Latency {
  p99: number;
  max: number;
  count: number;
  errors: number;
}

/**
 * A well-behaved client calling Echo in a loop, in its own process, while an attack runs; `stop()` returns its
 * latencies (ms).
 */
export async function goodClient(endpoint: string, intervalMs = 5): Promise<{ stop(): Promise<Latency> }> {
  const script = join(distDir, 'test', 'hostile', 'good-client-process.js');
  const child = spawn(process.execPath, [script, endpoint, String(intervalMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout! });
  const next = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`good client: no "${prefix}" line; stderr: ${stderr}`)), 30_000);
      const onLine = (line: string): void => {
        if (!line.startsWith(prefix)) return;
        clearTimeout(timer);
        lines.off('line', onLine);
        resolve(line);
      };
      lines.on('line', onLine);
    });
  await next('ready');
  return {
    async stop() {
      const answer = next('latency ');
      child.stdin!.write('stop\n');
      const line = await answer;
      lines.close();
      return JSON.parse(line.slice('latency '.length)) as Latency;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A raw TCP connection to the server, opened and connected. */
export function rawSocket(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves true when the socket closes within `ms`, false otherwise (what arrives meanwhile is read and dropped). */
export function closesWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  socket.resume();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.on('error', () => undefined);
  });
}

/** An `Echo.Echo` request frame carrying `payload` raw bytes. */
export function echoFrame(seq: number, payload: Uint8Array): Uint8Array {
  return new Message({ serializeType: SerializeType.None, seq, servicePath: 'Echo', serviceMethod: 'Echo', payload }).encode();
}

export const MiB = 1024 * 1024;

/** Sends `frames` on a fresh connection and resolves with the first `expected` replies (rejects on close or timeout). */
export async function rawExchange(host: string, port: number, frames: Uint8Array[], expected = frames.length, timeoutMs = 20_000): Promise<Message[]> {
  const socket = await rawSocket(host, port);
  const replies: Message[] = [];
  try {
    return await new Promise<Message[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${replies.length} of ${expected} replies`)), timeoutMs);
      const parser = new FrameParser((m) => {
        replies.push(m);
        if (replies.length >= expected) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
      socket.on('data', (chunk: Buffer) => parser.push(chunk));
      socket.on('close', () => reject(new Error(`closed after ${replies.length} of ${expected} replies`)));
      socket.on('error', () => undefined);
      for (const f of frames) socket.write(f);
    });
  } finally {
    socket.destroy();
  }
}
