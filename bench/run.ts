/**
 * `npm run bench`: one run, one machine, every stack measured the same way: 1 KiB echo, 100 calls outstanding,
 * client in this process and server in a child process, for BENCH_DURATION seconds each (default 10).
 * Prints calls/s, p50 and p99 per stack, then the ratios against the peers measured in this same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, SerializeType, type ClientOptions } from '../index.js';
import { silentLogger } from '../logger.js';
import { runLoad, type LoadResult } from './load.js';
import { RawEchoClient } from './peers/raw-echo-client.js';
import { createClient, type EchoClientInstance } from './peers/grpc-echo.js';

const distDir = dirname(dirname(fileURLToPath(import.meta.url)));
const repoDir = dirname(distDir);
const durationMs = Number(process.env.BENCH_DURATION ?? 10) * 1000;
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 100);
const payloadSize = Number(process.env.BENCH_PAYLOAD ?? 1024);
const payload = Buffer.alloc(payloadSize, 0x78);

interface Row {
  name: string;
  result: LoadResult;
  /** CPU time the server process spent per call during the measured run, in µs (Linux /proc; NaN elsewhere). */
  serverCpuUsPerCall: number;
}

/** User + system CPU seconds a process has used so far (from /proc/<pid>/stat), NaN where /proc is missing. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After "pid (comm) ": state is field 3, utime field 14 and stime field 15, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Starts a server process and resolves with the endpoint it prints (`listening network@addr`). */
async function startProcess(args: string[]): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { child, endpoint };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

async function measure(name: string, server: string[], makeCaller: (endpoint: string) => Promise<{ call: (worker: number) => Promise<unknown>; close: () => unknown }>): Promise<Row> {
  const { child, endpoint } = await startProcess(server);
  try {
    const caller = await makeCaller(endpoint);
    // Warm up the JIT on both sides before measuring.
    await runLoad(caller.call, { concurrency, durationMs: Math.min(1000, durationMs / 5) });
    const cpuBefore = cpuSeconds(child.pid);
    const result = await runLoad(caller.call, { concurrency, durationMs });
    const serverCpuUsPerCall = ((cpuSeconds(child.pid) - cpuBefore) * 1e6) / Math.max(1, result.calls);
    await caller.close();
    process.stdout.write(
      `  ${name.padEnd(42)} ${Math.round(result.callsPerSecond).toString().padStart(8)} calls/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  server ${serverCpuUsPerCall.toFixed(1)} µs CPU/call  errors ${result.errors}\n`,
    );
    return { name, result, serverCpuUsPerCall };
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  process.stdout.write(`bench: ${payloadSize} B echo, ${concurrency} outstanding, ${durationMs / 1000} s each, node ${process.version}\n`);
  const rows: Row[] = [];

  // This project on every network: raw 1 KiB echo, and msgpack on tcp.
  const tmp = mkdtempSync(join(tmpdir(), 'rpcx-bench-'));
  const certs = join(repoDir, 'examples', 'certs');
  const serverTls = ['--tls-cert', join(certs, 'server.pem'), '--tls-key', join(certs, 'server-key.pem')];
  const clientTls = { ca: readFileSync(join(certs, 'ca.pem'), 'utf8') };
  const networks: Array<{ name: string; listen: string; flags?: string[]; client?: ClientOptions; serializeType?: number }> = [
    { name: 'tcp', listen: 'tcp@127.0.0.1:0' },
    { name: 'tcp (msgpack)', listen: 'tcp@127.0.0.1:0', serializeType: SerializeType.MsgPack },
    { name: 'tcp+tls', listen: 'tcp@127.0.0.1:0', flags: serverTls, client: { tls: clientTls } },
    { name: 'unix', listen: `unix@${join(tmp, 'bench.sock')}` },
    { name: 'http (CONNECT)', listen: 'http@127.0.0.1:0' },
    { name: 'ws', listen: 'ws@127.0.0.1:0' },
    { name: 'wss', listen: 'wss@127.0.0.1:0', flags: serverTls, client: { tls: clientTls } },
    { name: 'quic', listen: 'quic@127.0.0.1:0', flags: serverTls, client: { tls: clientTls } },
    { name: 'kcp', listen: 'kcp@127.0.0.1:0' },
    { name: 'kcp (aes+fec)', listen: 'kcp@127.0.0.1:0', flags: ['--kcp-key', 'rpcx-key'], client: { transport: { kcpKey: 'rpcx-key' } } },
  ];
  const only = process.env.BENCH_NETWORKS?.split(',');
  for (const network of networks) {
    if (only && !only.includes(network.name.split(' ')[0]!)) continue;
    rows.push(
      await measure(`rpcx-ts ${network.name}`, [join(distDir, 'bin', 'rpcx-ts.js'), 'serve-examples', '--listen', network.listen, ...(network.flags ?? [])], async (endpoint) => {
        const client = await Client.connect(endpoint, { ...(network.client ?? {}), logger: silentLogger });
        const msgpack = network.serializeType === SerializeType.MsgPack;
        const args = msgpack ? 'x'.repeat(payloadSize) : payload;
        const serializeType = msgpack ? SerializeType.MsgPack : SerializeType.None;
        return { call: () => client.call('Echo', 'Echo', args, { serializeType, raw: true }), close: () => client.close() };
      }),
    );
  }
  rmSync(tmp, { recursive: true, force: true });

  // The same grpc-js client against a grpc-js server and against our gRPC endpoint (the rpcx port, sniffed).
  const grpcServers: Array<{ name: string; server: string[] }> = [
    { name: 'grpc-js server', server: [join(distDir, 'bench', 'peers', 'grpc-echo-server.js')] },
    { name: 'rpcx-ts gRPC', server: [join(distDir, 'bin', 'rpcx-ts.js'), 'serve-examples', '--listen', 'tcp@127.0.0.1:0'] },
  ];
  for (const channels of [1, 4]) {
    for (const grpcServer of grpcServers) {
      rows.push(
        await measure(`grpc-js client → ${grpcServer.name}, ${channels} ch`, grpcServer.server, async (endpoint) => {
          const clients: EchoClientInstance[] = Array.from({ length: channels }, () => createClient(portOf(endpoint)));
          return {
            call: (worker) =>
              new Promise<Buffer>((resolve, reject) =>
                clients[worker % channels]!.echo(payload, (error, reply) => (error ? reject(error) : resolve(reply!))),
              ),
            close: () => clients.forEach((c) => c.close()),
          };
        }),
      );
    }
  }

  rows.push(
    await measure('raw net ceiling (batched writes)', [join(distDir, 'bench', 'peers', 'raw-echo-server.js')], async (endpoint) => {
      const client = await RawEchoClient.connect(portOf(endpoint));
      return { call: () => client.echo(payload), close: () => client.close() };
    }),
  );

  const by = (prefix: string): LoadResult => rows.find((r) => r.name.startsWith(prefix))!.result;
  const ours = by('rpcx-ts tcp');
  const ratio = (other: LoadResult): string => (ours.callsPerSecond / other.callsPerSecond).toFixed(2);
  process.stdout.write('\nratios (rpcx-ts tcp, raw 1 KiB ÷ peer, calls/s):\n');
  process.stdout.write(`  vs grpc-js 1 channel:  ${ratio(by('grpc-js client → grpc-js server, 1'))}x\n`);
  process.stdout.write(`  vs grpc-js 4 channels: ${ratio(by('grpc-js client → grpc-js server, 4'))}x\n`);
  process.stdout.write(`  vs raw net ceiling:    ${ratio(by('raw net'))}x\n`);
  // The client is the same on both sides and often the bottleneck, so the server's CPU per call is shown too.
  process.stdout.write('ratios (the same grpc-js client: rpcx-ts gRPC endpoint vs grpc-js server; goal >= 1.5x):\n');
  const row = (prefix: string): Row => rows.find((r) => r.name.startsWith(prefix))!;
  for (const channels of [1, 4]) {
    const ours = row(`grpc-js client → rpcx-ts gRPC, ${channels}`);
    const theirs = row(`grpc-js client → grpc-js server, ${channels}`);
    const throughput = ours.result.callsPerSecond / theirs.result.callsPerSecond;
    const efficiency = theirs.serverCpuUsPerCall / ours.serverCpuUsPerCall;
    process.stdout.write(`  ${channels} channel${channels > 1 ? 's' : ' '}: calls/s ${throughput.toFixed(2)}x, server CPU per call ${efficiency.toFixed(2)}x less\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
