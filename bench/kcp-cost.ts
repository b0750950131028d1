/**
 * What a KCP call costs, on a shared machine: our Client against `rpcx-ts serve-examples` in a child process, 1 KiB raw
 * `Echo.Echo`, 100 outstanding on one session, plain KCP and AES + FEC 10/3 interleaved over several rounds. Prints
 * calls/s and the CPU time client and server spent per call (and per datagram each sent), which move far less with the
 * neighbours' load than calls/s do.
 *
 *     node dist/bench/kcp-cost.js [rounds] [seconds]
 *
 * KCP_COST_VARIANTS=kcp,... picks variants; KCP_COST_OUTSTANDING sets the calls outstanding (default 100);
 * KCP_COST_PROFILE=dir makes the server write a --cpu-prof file there.
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { Client, SerializeType } from '../index.js';
import { silentLogger } from '../logger.js';
import { kcpTransport, type KcpSession } from '../transport/kcp.js';
import { processCpuUs } from './client-cost.js';
import { runLoad } from './load.js';
import { cliPath, listeningEndpoints, stopProcess } from '../test/helpers/processes.js';

const numbers = process.argv.slice(2).filter((a) => /^\d+(\.\d+)?$/.test(a)).map(Number);
const rounds = numbers[0] ?? 3;
const seconds = numbers[1] ?? 3;
const profileDir = process.env.KCP_COST_PROFILE;
const payload = Buffer.alloc(1024, 0x78);
const OUTSTANDING = Number(process.env.KCP_COST_OUTSTANDING ?? 100);

const variants: Array<{ name: string; flags: string[]; transport: Record<string, unknown> }> = [
  { name: 'kcp', flags: [], transport: {} },
  { name: 'kcp aes+fec10/3', flags: ['--kcp-key', 'rpcx-key'], transport: { kcpKey: 'rpcx-key' } },
];

/** Main-thread garbage collection time in this (the client) process, in ms. */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

interface Sample {
  callsPerSecond: number;
  clientGcUs: number;
  clientUs: number;
  serverUs: number;
  clientDatagramsPerCall: number;
  clientDatagramsInPerCall: number;
  p99Ms: number;
  /** Client segments retransmitted (after an RTO, fast, early), FEC recoveries and input errors in the measured run. */
  retransmits: string;
  recovered: number;
  inErrors: number;
}

function lossCounters(session: KcpSession): number[] {
  const s = session.stats;
  return [s.kcp.lostSegs, s.kcp.fastRetransSegs, s.kcp.earlyRetransSegs, s.packets.fecRecovered, s.packets.inErrors];
}

async function once(variant: (typeof variants)[number]): Promise<Sample> {
  const nodeFlags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...nodeFlags, cliPath, 'serve-examples', '--listen', 'kcp@127.0.0.1:0', ...variant.flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [endpoint] = await listeningEndpoints(child, 'serve-examples');
    const address = endpoint!.slice(endpoint!.indexOf('@') + 1);
    const session = (await kcpTransport.dial('kcp', address, variant.transport)) as KcpSession;
    const client = new Client(session, { logger: silentLogger });
    const call = (): Promise<unknown> => client.call('Echo', 'Echo', payload, { serializeType: SerializeType.None, raw: true });
    await runLoad(call, { concurrency: OUTSTANDING, durationMs: 1000 });
    const sentBefore = session.stats.packets.outDatagrams;
    const receivedBefore = session.stats.packets.inDatagrams;
    const lossBefore = lossCounters(session);
    const serverBefore = processCpuUs(child.pid) ?? NaN;
    const clientBefore = process.cpuUsage();
    const gcBefore = gcMs;
    const result = await runLoad(call, { concurrency: OUTSTANDING, durationMs: seconds * 1000 });
    const clientCpu = process.cpuUsage(clientBefore);
    const clientGcUs = ((gcMs - gcBefore) * 1000) / result.calls;
    const serverUs = ((processCpuUs(child.pid) ?? NaN) - serverBefore) / result.calls;
    const sent = session.stats.packets.outDatagrams - sentBefore;
    const received = session.stats.packets.inDatagrams - receivedBefore;
    const loss = lossCounters(session).map((n, i) => n - lossBefore[i]!);
    await client.close();
    return {
      callsPerSecond: result.callsPerSecond,
      clientUs: (clientCpu.user + clientCpu.system) / result.calls,
      clientGcUs,
      serverUs,
      clientDatagramsPerCall: sent / result.calls,
      clientDatagramsInPerCall: received / result.calls,
      p99Ms: result.p99Ms,
      retransmits: `${loss[0]}/${loss[1]}/${loss[2]}`,
      recovered: loss[3]!,
      inErrors: loss[4]!,
    };
  } finally {
    await stopProcess(child, 'SIGINT');
  }
}

const only = process.env.KCP_COST_VARIANTS?.split(',');
const results = new Map<string, Sample[]>();
for (let round = 0; round < rounds; round++) {
  for (const variant of variants) {
    if (only && !only.includes(variant.name)) continue;
    const s = await once(variant);
    (results.get(variant.name) ?? results.set(variant.name, []).get(variant.name)!).push(s);
    process.stdout.write(
      `round ${round + 1} ${variant.name.padEnd(16)} ${Math.round(s.callsPerSecond).toString().padStart(7)} calls/s  p99 ${s.p99Ms.toFixed(2)} ms  ` +
        `cpu/call client ${s.clientUs.toFixed(1)} µs (gc ${s.clientGcUs.toFixed(1)}) server ${s.serverUs.toFixed(1)} µs  client datagrams/call out ${s.clientDatagramsPerCall.toFixed(2)} in ${s.clientDatagramsInPerCall.toFixed(2)}  ` +
        `retransmits (rto/fast/early) ${s.retransmits} fec-recovered ${s.recovered} errors ${s.inErrors}\n`,
    );
  }
}
process.stdout.write('best of rounds (highest calls/s, lowest CPU per call):\n');
for (const [name, samples] of results) {
  const best = (f: (s: Sample) => number, max: boolean): number => samples.map(f).reduce((a, b) => (max ? Math.max(a, b) : Math.min(a, b)));
  process.stdout.write(
    `  ${name.padEnd(16)} ${Math.round(best((s) => s.callsPerSecond, true)).toString().padStart(7)} calls/s  cpu/call client ${best((s) => s.clientUs, false).toFixed(1)} µs server ${best((s) => s.serverUs, false).toFixed(1)} µs\n`,
  );
}
