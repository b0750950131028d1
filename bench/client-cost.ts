/**
 * What the client side costs per call: the plain `Client`, the `XClient` (failover, round robin) on one and on three
 * servers, each with and without a per-call deadline, all against one server process listening on three tcp ports
 * (1 KiB raw `Echo.Echo`, 100 outstanding). The variants run interleaved, in rounds, so a noisy neighbour on the
 * machine hits all of them alike; of each the best round is kept, and the lowest CPU time per call of any round.
 *
 * Standalone (for profiling the client): `node --cpu-prof dist/bench/client-cost.js [variant[,variant...]]`, with
 * names from the list below (all when absent); BENCH_DURATION / BENCH_ROUNDS set seconds per round and rounds. It
 * prints how many calls the process made, warm-up included, for `bench/profile-summary.ts --calls`.
 */
import { readFileSync } from 'node:fs';
import { Client, MultipleServersDiscovery, SerializeType, XClient } from '../index.js';
import { silentLogger } from '../logger.js';
import { runLoad, type LoadResult } from './load.js';
import { cliPath, startListening, stopProcess } from '../test/helpers/processes.js';
import { runStandalone } from './standalone.js';

export const clientVariants = ['client', 'client+deadline', 'xclient1', 'xclient1+deadline', 'xclient3', 'xclient3+deadline'] as const;
export type ClientVariant = (typeof clientVariants)[number];

/** One measured round: the load result and the client process's CPU time (user + system) per call, in µs. */
export interface ClientCostResult extends LoadResult {
  cpuUsPerCall: number;
  /** The server process's CPU time per call in µs, when its pid was given (Linux). */
  serverCpuUsPerCall?: number;
}

export interface ClientCostOptions {
  /** The three tcp endpoints of one server process. */
  endpoints: readonly string[];
  concurrency: number;
  durationMs: number;
  rounds: number;
  payload: Uint8Array;
  variants?: readonly ClientVariant[];
  /** The server's process id: its CPU time per call is reported too (read from /proc, so Linux only). */
  serverPid?: number;
  onRow?: (variant: ClientVariant, round: number, result: ClientCostResult) => void;
  /** Called after each variant's warm-up (whose calls count in a profile of the process, not in any round). */
  onWarmup?: (variant: ClientVariant, result: LoadResult) => void;
}

/** The deadline every "+deadline" variant sets on each call (long enough never to fire). */
const DEADLINE_MS = 10_000;

interface Caller {
  call: () => Promise<unknown>;
  close: () => Promise<void>;
}

async function makeCaller(variant: ClientVariant, endpoints: readonly string[], payload: Uint8Array): Promise<Caller> {
  const options = variant.endsWith('+deadline')
    ? { serializeType: SerializeType.None, raw: true, timeoutMs: DEADLINE_MS }
    : { serializeType: SerializeType.None, raw: true };
  if (variant.startsWith('client')) {
    const client = await Client.connect(endpoints[0]!, { logger: silentLogger });
    return { call: () => client.call('Echo', 'Echo', payload, options), close: () => client.close() };
  }
  const servers = variant.startsWith('xclient3') ? endpoints.slice(0, 3) : endpoints.slice(0, 1);
  const xclient = new XClient('Echo', 'failover', 'roundrobin', new MultipleServersDiscovery(servers), { logger: silentLogger });
  return { call: () => xclient.call('Echo', payload, options), close: () => xclient.close() };
}

/**
 * Runs every variant `rounds` times, interleaved; returns of each the best calls/s round (its p99 with it) carrying
 * the lowest client and server CPU time per call seen in any round (the rounds least disturbed by other load).
 */
export async function measureClientCost(options: ClientCostOptions): Promise<Map<ClientVariant, ClientCostResult>> {
  const variants = options.variants ?? clientVariants;
  const callers = new Map<ClientVariant, Caller>();
  for (const variant of variants) callers.set(variant, await makeCaller(variant, options.endpoints, options.payload));
  const best = new Map<ClientVariant, ClientCostResult>();
  try {
    // Warm up every path (JIT on both sides, connections dialled) before anything counts.
    for (const variant of variants) {
      const warmup = await runLoad(callers.get(variant)!.call, { concurrency: options.concurrency, durationMs: Math.min(1000, options.durationMs) });
      options.onWarmup?.(variant, warmup);
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const variant of variants) {
        const cpuBefore = process.cpuUsage();
        const serverBefore = processCpuUs(options.serverPid);
        const load = await runLoad(callers.get(variant)!.call, { concurrency: options.concurrency, durationMs: options.durationMs });
        const cpu = process.cpuUsage(cpuBefore);
        const serverAfter = processCpuUs(options.serverPid);
        const result: ClientCostResult = { ...load, cpuUsPerCall: load.calls > 0 ? (cpu.user + cpu.system) / load.calls : 0 };
        if (serverBefore !== undefined && serverAfter !== undefined && load.calls > 0) {
          result.serverCpuUsPerCall = (serverAfter - serverBefore) / load.calls;
        }
        options.onRow?.(variant, round, result);
        const previous = best.get(variant);
        const kept = !previous || result.callsPerSecond > previous.callsPerSecond ? { ...result } : previous;
        if (previous) {
          kept.cpuUsPerCall = Math.min(previous.cpuUsPerCall, result.cpuUsPerCall);
          const servers = [previous.serverCpuUsPerCall, result.serverCpuUsPerCall].filter((v): v is number => v !== undefined);
          if (servers.length > 0) kept.serverCpuUsPerCall = Math.min(...servers);
        }
        best.set(variant, kept);
      }
    }
  } finally {
    for (const caller of callers.values()) await caller.close();
  }
  return best;
}

/** User + system CPU time of another process in µs, from /proc (undefined elsewhere or when it is gone). */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ: the unit of /proc CPU times, 100 on every mainstream Linux build. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The ratios the performance targets are stated in, from one run's results: calls/s of a variant over its baseline,
 * and (`cpu`) the baseline's client CPU per call over the variant's, which is steadier on a loaded machine.
 */
export function clientCostRatios(results: ReadonlyMap<ClientVariant, ClientCostResult>): Array<{ name: string; value: number; cpu: number | undefined; target: string }> {
  const out: Array<{ name: string; value: number; cpu: number | undefined; target: string }> = [];
  const add = (name: string, variant: ClientVariant, baseline: ClientVariant, target: string): void => {
    const a = results.get(variant);
    const b = results.get(baseline);
    if (!a || !b || b.callsPerSecond === 0) return;
    out.push({ name, value: a.callsPerSecond / b.callsPerSecond, cpu: a.cpuUsPerCall > 0 ? b.cpuUsPerCall / a.cpuUsPerCall : undefined, target });
  };
  add('XClient 1 server / Client', 'xclient1', 'client', '>= 0.90');
  add('XClient 3 servers / XClient 1 server', 'xclient3', 'xclient1', '>= 0.90');
  add('Client with deadline / without', 'client+deadline', 'client', '>= 0.95');
  add('XClient with deadline / without', 'xclient1+deadline', 'xclient1', '>= 0.95');
  add('XClient 3 servers with deadline / without', 'xclient3+deadline', 'xclient3', '>= 0.95');
  add('XClient 1 server with deadline / Client', 'xclient1+deadline', 'client', '>= 0.85');
  return out;
}

async function main(): Promise<void> {
  const listen = ['--listen', 'tcp@127.0.0.1:0', '--listen', 'tcp@127.0.0.1:0', '--listen', 'tcp@127.0.0.1:0'];
  const { child, endpoints } = await startListening(cliPath, ['serve-examples', ...listen], 3, { stderr: 'inherit' });
  const wanted = process.argv[2]?.split(',') as ClientVariant[] | undefined;
  const unknown = wanted?.find((name) => !clientVariants.includes(name));
  if (unknown !== undefined) throw new Error(`unknown variant ${unknown} (${clientVariants.join(', ')})`);
  // Every call this process made, warm-up included: what a --cpu-prof profile of it covers (profile-summary --calls).
  let callsMade = 0;
  try {
    const results = await measureClientCost({
      endpoints,
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 100),
      durationMs: Number(process.env.BENCH_DURATION ?? 3) * 1000,
      rounds: Number(process.env.BENCH_ROUNDS ?? 2),
      payload: Buffer.alloc(Number(process.env.BENCH_PAYLOAD ?? 1024), 0x78),
      ...(wanted ? { variants: wanted } : {}),
      ...(child.pid !== undefined ? { serverPid: child.pid } : {}),
      onWarmup: (_variant, r) => {
        callsMade += r.calls;
      },
      onRow: (variant, round, r) => {
        callsMade += r.calls;
        process.stdout.write(
          `  round ${round} ${variant.padEnd(18)} ${Math.round(r.callsPerSecond).toString().padStart(8)} calls/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  cpu/call client ${r.cpuUsPerCall.toFixed(2)} µs server ${r.serverCpuUsPerCall?.toFixed(2) ?? '?'} µs  errors ${r.errors}\n`,
        );
      },
    });
    process.stdout.write(`  calls made by this process, warm-up included: ${callsMade}\n`);
    for (const { name, value, cpu, target } of clientCostRatios(results)) {
      process.stdout.write(`  ${name.padEnd(42)} ${value.toFixed(2)}x  cpu ${cpu?.toFixed(2) ?? '-'}x  (target ${target})\n`);
    }
  } finally {
    await stopProcess(child);
  }
}

runStandalone(import.meta.url, 'client-cost', main);
