/**
 * How fast can a @grpc/grpc-js client go at all? The same grpc-js client (1 KiB unary echo, 100 outstanding) against
 * four servers, each its own process, in interleaved rounds so a noisy neighbour hits them alike:
 *
 * - `grpc-js server`: what the 1.5x goal is measured against;
 * - `rpcx-ts gRPC`: our endpoint on the sniffed rpcx port, through the dispatcher like any call;
 * - `node:http2 minimal`: the least any server on Node's `http2` can do (peers/h2-node-responder.ts);
 * - `raw HTTP/2 ideal`: a responder on a bare socket with pre-encoded frames, one write per socket read
 *   (peers/h2-ideal-responder.ts): the client's own ceiling, since it leaves the client nothing to wait for.
 *
 * For each: calls/s (best round) and CPU time per call of the client (this process) and of the server (its /proc),
 * lowest of any round. On a 2-core machine each side gets about one core, so when the client's CPU per call against
 * the ideal responder is close to that against grpc-js's server, no server can make the client much faster.
 *
 * Standalone: `node dist/bench/grpc-ceiling.js` (BENCH_DURATION seconds per round, BENCH_ROUNDS, BENCH_CHANNELS).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPath, startListening, stopProcess } from '../test/helpers/processes.js';
import { processCpuUs } from './client-cost.js';
import { runLoad, type LoadResult } from './load.js';
import { createClient, type EchoClientInstance } from './peers/grpc-echo.js';
import { runStandalone } from './standalone.js';

const peersDir = join(dirname(fileURLToPath(import.meta.url)), 'peers');

export const grpcTargets = [
  { name: 'grpc-js server', script: join(peersDir, 'grpc-echo-server.js'), args: [] as string[] },
  { name: 'rpcx-ts gRPC', script: cliPath, args: ['serve-examples', '--listen', 'tcp@127.0.0.1:0'] },
  { name: 'node:http2 minimal', script: join(peersDir, 'h2-node-responder.js'), args: [] as string[] },
  { name: 'raw HTTP/2 ideal', script: join(peersDir, 'h2-ideal-responder.js'), args: [] as string[] },
] as const;
export type GrpcTargetName = (typeof grpcTargets)[number]['name'];

export interface GrpcCeilingResult extends LoadResult {
  /** Lowest client (this process) CPU time per call of any round, µs. */
  clientCpuUsPerCall: number;
  /** Lowest server process CPU time per call of any round, µs. */
  serverCpuUsPerCall: number;
  /** Calls/s of every round, in order (rounds are interleaved, so round i of two servers ran close together). */
  roundCallsPerSecond: number[];
}

export interface GrpcCeilingOptions {
  concurrency: number;
  durationMs: number;
  rounds: number;
  channels: number;
  payload: Buffer;
  onRow?: (name: GrpcTargetName, round: number, result: GrpcCeilingResult) => void;
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

export async function measureGrpcCeiling(options: GrpcCeilingOptions): Promise<Map<GrpcTargetName, GrpcCeilingResult>> {
  const started = await Promise.all(grpcTargets.map((target) => startListening(target.script, [...target.args], 1, { stderr: 'inherit' })));
  const clients: EchoClientInstance[][] = [];
  const best = new Map<GrpcTargetName, GrpcCeilingResult>();
  try {
    for (const { endpoints } of started) {
      const port = Number(endpoints[0]!.slice(endpoints[0]!.lastIndexOf(':') + 1));
      clients.push(Array.from({ length: options.channels }, () => createClient(port)));
    }
    const callerOf = (channels: EchoClientInstance[]) => (worker: number) =>
      new Promise<Buffer>((resolve, reject) => channels[worker % channels.length]!.echo(options.payload, (error, reply) => (error ? reject(error) : resolve(reply!))));
    // Warm up the JIT of every client and server.
    for (const channels of clients) await runLoad(callerOf(channels), { concurrency: options.concurrency, durationMs: Math.min(1000, options.durationMs) });
    for (let round = 1; round <= options.rounds; round++) {
      for (let i = 0; i < grpcTargets.length; i++) {
        const name = grpcTargets[i]!.name;
        const serverPid = started[i]!.child.pid;
        const clientBefore = cpuUs();
        const serverBefore = processCpuUs(serverPid) ?? NaN;
        const load = await runLoad(callerOf(clients[i]!), { concurrency: options.concurrency, durationMs: options.durationMs });
        const calls = Math.max(1, load.calls);
        const result: GrpcCeilingResult = {
          ...load,
          clientCpuUsPerCall: (cpuUs() - clientBefore) / calls,
          serverCpuUsPerCall: ((processCpuUs(serverPid) ?? NaN) - serverBefore) / calls,
          roundCallsPerSecond: [load.callsPerSecond],
        };
        options.onRow?.(name, round, result);
        const previous = best.get(name);
        if (previous === undefined) best.set(name, result);
        else {
          const kept = result.callsPerSecond > previous.callsPerSecond ? result : previous;
          best.set(name, {
            ...kept,
            clientCpuUsPerCall: Math.min(previous.clientCpuUsPerCall, result.clientCpuUsPerCall),
            serverCpuUsPerCall: Math.min(previous.serverCpuUsPerCall, result.serverCpuUsPerCall),
            roundCallsPerSecond: [...previous.roundCallsPerSecond, load.callsPerSecond],
          });
        }
      }
    }
  } finally {
    for (const channels of clients) for (const client of channels) client.close();
    await Promise.all(started.map(({ child }) => stopProcess(child)));
  }
  return best;
}

/**
 * What the CPU times allow, whatever the scheduler does: with a core each, a pipelined pair runs at the pace of the
 * busier side (calls/s = 1 / max(client, server) CPU per call); when both share the cores with each other and with
 * other work, at the pace of their sum (calls/s ∝ 1 / (client + server)). The measured ratio lands between or near.
 */
export function cpuBoundRatios(base: GrpcCeilingResult, other: GrpcCeilingResult): { coreEach: number; shared: number } {
  return {
    coreEach: Math.max(base.clientCpuUsPerCall, base.serverCpuUsPerCall) / Math.max(other.clientCpuUsPerCall, other.serverCpuUsPerCall),
    shared: (base.clientCpuUsPerCall + base.serverCpuUsPerCall) / (other.clientCpuUsPerCall + other.serverCpuUsPerCall),
  };
}

/** The median over rounds of this round's calls/s over the base's in the same round: steadier than best ÷ best. */
export function medianRoundRatio(base: GrpcCeilingResult, other: GrpcCeilingResult): number {
  const ratios = other.roundCallsPerSecond.map((cps, i) => cps / (base.roundCallsPerSecond[i] ?? NaN)).sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  return ratios.length % 2 === 1 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
}

/** The table and the ratios that tell whether a server can still lift the client. */
export function formatGrpcCeiling(results: ReadonlyMap<GrpcTargetName, GrpcCeilingResult>): string {
  const lines: string[] = [];
  for (const [name, r] of results) {
    lines.push(
      `  ${name.padEnd(20)} ${Math.round(r.callsPerSecond).toString().padStart(8)} calls/s  p50 ${r.p50Ms.toFixed(2)} ms  cpu/call client ${r.clientCpuUsPerCall.toFixed(1)} µs  server ${r.serverCpuUsPerCall.toFixed(1)} µs  errors ${r.errors}`,
    );
  }
  const base = results.get('grpc-js server');
  if (base !== undefined) {
    lines.push('  ÷ grpc-js server: calls/s (best ÷ best, and the median of same-round ratios); CPU-bound calls/s with a core each / with');
    lines.push('  shared cores; client and server CPU per call');
    for (const [name, r] of results) {
      if (name === 'grpc-js server') continue;
      const bound = cpuBoundRatios(base, r);
      lines.push(
        `  ${name.padEnd(20)} calls/s ${(r.callsPerSecond / base.callsPerSecond).toFixed(2)}x, median ${medianRoundRatio(base, r).toFixed(2)}x  cpu-bound ${bound.coreEach.toFixed(2)}x / ${bound.shared.toFixed(2)}x  client cpu ${(r.clientCpuUsPerCall / base.clientCpuUsPerCall).toFixed(2)}x  server cpu ${(base.serverCpuUsPerCall / r.serverCpuUsPerCall).toFixed(2)}x less`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const channels = Number(process.env.BENCH_CHANNELS ?? 1);
  const durationMs = Number(process.env.BENCH_DURATION ?? 3) * 1000;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  process.stdout.write(`grpc ceiling: ${channels} channel(s), ${durationMs / 1000} s x ${rounds} rounds, load ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const results = await measureGrpcCeiling({
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 100),
    durationMs,
    rounds,
    channels,
    payload: Buffer.alloc(Number(process.env.BENCH_PAYLOAD ?? 1024), 0x78),
    onRow: (name, round, r) =>
      process.stdout.write(
        `  round ${round} ${name.padEnd(20)} ${Math.round(r.callsPerSecond).toString().padStart(8)} calls/s  cpu/call client ${r.clientCpuUsPerCall.toFixed(1)} µs server ${r.serverCpuUsPerCall.toFixed(1)} µs  errors ${r.errors}\n`,
      ),
  });
  process.stdout.write(`${formatGrpcCeiling(results)}\n`);
  process.stdout.write(`load after: ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

runStandalone(import.meta.url, 'grpc-ceiling', main);
