/**
 * What one rpcx call over QUIC costs each side: the plain `Client` calling raw 1 KiB `Echo.Echo` on a
 * `serve-examples --listen quic@...` child process, 100 outstanding on one connection. Prints calls/s and the CPU time
 * per call of the client process and of the server process, per round (calls/s moves with the machine's load; CPU
 * per call much less).
 *
 *   node dist/bench/quic-cost.js [--seconds 5] [--rounds 3] [--outstanding 100] [--server-flags "--cpu-prof ..."]
 *     [--network tcp]   (the same measurement on another network, for comparison)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client, SerializeType } from '../index.js';
import { silentLogger } from '../logger.js';
import { processCpuUs } from './client-cost.js';
import { runLoad } from './load.js';
import { cliPath, listeningEndpoints, stopProcess } from '../test/helpers/processes.js';
import { repoRoot as repoDir } from '../test/helpers/paths.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const seconds = Number(option('--seconds', '5'));
const rounds = Number(option('--rounds', '3'));
const concurrency = Number(option('--outstanding', '100'));
const serverFlags = option('--server-flags', '').split(' ').filter(Boolean);
const network = option('--network', 'quic');
const tlsNetworks = ['quic', 'wt', 'wss'];
const certs = join(repoDir, 'examples', 'certs');
const payload = Buffer.alloc(1024, 0x78);

const child = spawn(
  process.execPath,
  [
    ...serverFlags,
    cliPath,
    'serve-examples',
    '--listen',
    `${network}@127.0.0.1:0`,
    ...(tlsNetworks.includes(network) ? ['--tls-cert', join(certs, 'server.pem'), '--tls-key', join(certs, 'server-key.pem')] : []),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let client: Client | undefined;
try {
  const [endpoint] = await listeningEndpoints(child, 'serve-examples');
  const tls = tlsNetworks.includes(network) ? { tls: { ca: readFileSync(join(certs, 'ca.pem'), 'utf8') } } : {};
  client = await Client.connect(endpoint!, { ...tls, logger: silentLogger });
  const connected = client;
  const call = (): Promise<unknown> => connected.call('Echo', 'Echo', payload, { serializeType: SerializeType.None, raw: true });
  await runLoad(call, { concurrency, durationMs: 1000 });
  for (let round = 0; round < rounds; round++) {
    const clientBefore = process.cpuUsage();
    const serverBefore = processCpuUs(child.pid) ?? NaN;
    const result = await runLoad(call, { concurrency, durationMs: seconds * 1000 });
    const clientCpu = process.cpuUsage(clientBefore);
    const serverUs = (processCpuUs(child.pid) ?? NaN) - serverBefore;
    const calls = Math.max(1, result.calls);
    process.stdout.write(
      `${network} round ${round + 1}: ${Math.round(result.callsPerSecond)} calls/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
        `cpu/call client ${((clientCpu.user + clientCpu.system) / calls).toFixed(1)} µs, server ${(serverUs / calls).toFixed(1)} µs  ` +
        `errors ${result.errors}  load ${loadavg()[0]!.toFixed(2)}\n`,
    );
  }
} finally {
  await client?.close();
  await stopProcess(child);
}
