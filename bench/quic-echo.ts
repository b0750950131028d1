/**
 * QUIC echo throughput: 1 KiB length-prefixed messages, a fixed number outstanding, over one `quic` connection, with
 * the server in a child process. Prints messages per second and round-trip latency percentiles.
 *
 *   node dist/bench/quic-echo.js [--seconds 10] [--outstanding 100] [--size 1024] [--async]
 *
 * `--async` makes the server answer each message from a promise continuation (as an RPC handler would) instead of
 * inside the data callback.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestCerts } from '../test/helpers/tls-certs.js';
import { quicTransport } from '../transport/quic.js';
import type { Conn } from '../transport/transport.js';

interface Args {
  seconds: number;
  outstanding: number;
  size: number;
  async: boolean;
  server: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 10, outstanding: 100, size: 1024, async: false, server: undefined };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (name === '--seconds') args.seconds = Number(argv[++i]);
    else if (name === '--outstanding') args.outstanding = Number(argv[++i]);
    else if (name === '--size') args.size = Number(argv[++i]);
    else if (name === '--async') args.async = true;
    else if (name === '--server') args.server = argv[++i];
  }
  return args;
}

/** Splits a byte stream into 4-byte-length-prefixed frames (the prefix included). */
function framer(onFrame: (frame: Buffer) => void): (chunk: Uint8Array) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let offset = 0;
    while (buffered.length - offset >= 4) {
      const length = buffered.readUInt32BE(offset);
      if (buffered.length - offset < 4 + length) break;
      onFrame(buffered.subarray(offset, offset + 4 + length));
      offset += 4 + length;
    }
    buffered = offset === buffered.length ? Buffer.alloc(0) : Buffer.from(buffered.subarray(offset));
  };
}

async function runServer(certDir: string, answerAsync: boolean): Promise<void> {
  const listener = await quicTransport.listen(
    'quic',
    '127.0.0.1:0',
    { tls: { cert: readFileSync(join(certDir, 'server.pem')), key: readFileSync(join(certDir, 'server-key.pem')) } },
    (conn: Conn) => {
      conn.onData(
        framer((frame) => {
          if (answerAsync) void Promise.resolve(frame).then((f) => conn.write(f));
          else conn.write(frame);
        }),
      );
      conn.onClose(() => {});
    },
  );
  process.stdout.write(JSON.stringify({ address: listener.address }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

async function runClient(args: Args): Promise<void> {
  const certs = createTestCerts();
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, '--server', certs.dir, ...(args.async ? ['--async'] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { address: string }).address));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });

  const conn = await quicTransport.dial('quic', address, { tls: { ca: certs.caPem } });
  const message = Buffer.alloc(4 + args.size, 0x61);
  message.writeUInt32BE(args.size, 0);

  const sentAt: number[] = [];
  let head = 0;
  const latencies: number[] = [];
  let completed = 0;
  let measuring = false;
  let running = true;
  const send = (): void => {
    sentAt.push(performance.now());
    conn.write(message);
  };
  conn.onData(
    framer(() => {
      const rtt = performance.now() - sentAt[head++]!;
      if (head > 4096) {
        sentAt.splice(0, head);
        head = 0;
      }
      if (measuring) {
        completed++;
        latencies.push(rtt);
      }
      if (running) send();
    }),
  );
  const closed = new Promise<void>((resolve) => conn.onClose(() => resolve()));

  for (let i = 0; i < args.outstanding; i++) send();
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
  measuring = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, args.seconds * 1000));
  const elapsed = (performance.now() - start) / 1000;
  measuring = false;
  running = false;

  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN;
  const result = {
    transport: 'quic',
    size: args.size,
    outstanding: args.outstanding,
    serverAnswers: args.async ? 'async' : 'sync',
    seconds: Number(elapsed.toFixed(2)),
    msgsPerSec: Math.round(completed / elapsed),
    p50Ms: Number(pct(50).toFixed(2)),
    p99Ms: Number(pct(99).toFixed(2)),
  };
  process.stdout.write(
    `quic echo ${args.size} B, ${args.outstanding} outstanding, ${result.serverAnswers} server: ` +
      `${result.msgsPerSec} msgs/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms\n` +
      JSON.stringify(result) +
      '\n',
  );

  conn.end();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
  child.stdin!.end();
  await new Promise((resolve) => child.once('exit', resolve));
  certs.cleanup();
}

const args = parseArgs(process.argv.slice(2));
if (args.server !== undefined) await runServer(args.server, args.async);
else await runClient(args);
