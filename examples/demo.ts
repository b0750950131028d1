/**
 * `npm start`: serves the example services on every network at once, on the embedded default (no registry), then
 * calls them through each network and prints a table: network, address, result, latency. Only the endpoint string
 * and its TLS settings change from one row to the next; the calling code is the same.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Server, SerializeType, silentLogger, type ClientOptions, type ListenOptions } from '../index.js';
import { Arith, Echo } from './services/index.js';

// Demo-only certificates (see examples/certs/README.md), read from the source tree.
const certDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'certs');
const pem = (name: string): string => readFileSync(join(certDir, name), 'utf8');
const serverTls = { cert: pem('server.pem'), key: pem('server-key.pem') };
const clientTls = { ca: pem('ca.pem') };

const socketDir = mkdtempSync(join(tmpdir(), 'rpcx-demo-'));

interface Row {
  label: string;
  endpoint: string;
  listen?: ListenOptions;
  client?: ClientOptions;
}

/** One listener per network; port 0 picks free ports. */
const networks: Row[] = [
  { label: 'tcp', endpoint: 'tcp@127.0.0.1:0' },
  { label: 'tcp+tls', endpoint: 'tcp@127.0.0.1:0', listen: { tls: serverTls }, client: { tls: clientTls } },
  { label: 'unix', endpoint: `unix@${join(socketDir, 'arith.sock')}` },
  { label: 'reuseport', endpoint: 'reuseport@127.0.0.1:0' },
  { label: 'http', endpoint: 'http@127.0.0.1:0' },
  { label: 'ws', endpoint: 'ws@127.0.0.1:0' },
  { label: 'wss', endpoint: 'wss@127.0.0.1:0', listen: { tls: serverTls }, client: { tls: clientTls } },
  // QUIC: TLS required, ALPN rpcx, one bidirectional stream per connection, as rpcx does.
  { label: 'quic', endpoint: 'quic@127.0.0.1:0', listen: { tls: serverTls }, client: { tls: clientTls } },
  // WebTransport (HTTP/2 and the WebSocket mapping; HTTP/3 too when the native package is installed): TLS required.
  { label: 'wt', endpoint: 'wt@127.0.0.1:0', listen: { tls: serverTls }, client: { tls: clientTls } },
  // KCP over UDP with rpcx's settings: FEC 10+3 and AES from the password, as rpcx's examples derive it.
  { label: 'kcp', endpoint: 'kcp@127.0.0.1:0', listen: { kcpKey: 'rpcx-key' }, client: { transport: { kcpKey: 'rpcx-key' } } },
];

const server = new Server({ logger: silentLogger });
server.register(Arith);
server.register(Echo);

const table: string[][] = [['network', 'address', 'call', 'result', 'latency']];
for (const row of networks) {
  const listener = await server.serve(row.endpoint, row.listen ?? {});
  // reuseport is a server-side option: clients dial it as tcp.
  const dialNetwork = listener.network === 'reuseport' ? 'tcp' : listener.network;
  const address = `${dialNetwork}@${listener.address}`;
  try {
    const client = await Client.connect(address, { ...(row.client ?? {}), logger: silentLogger });
    try {
      const t0 = performance.now();
      const mul = await client.call<{ C: number }>('Arith', 'Mul', { A: 10, B: 20 }, { timeoutMs: 5000 });
      const t1 = performance.now();
      const echo = await client.call<Uint8Array>('Echo', 'Echo', new TextEncoder().encode('hello'), { serializeType: SerializeType.None, timeoutMs: 5000 });
      const t2 = performance.now();
      table.push([row.label, listener.address, 'Arith.Mul {A:10,B:20}', `C=${mul.C}`, `${(t1 - t0).toFixed(2)} ms`]);
      table.push([row.label, listener.address, 'Echo.Echo "hello"', JSON.stringify(new TextDecoder().decode(echo)), `${(t2 - t1).toFixed(2)} ms`]);
    } finally {
      await client.close();
    }
  } catch (error) {
    table.push([row.label, listener.address, 'Arith.Mul', `FAILED: ${(error as Error).message}`, '-']);
    process.exitCode = 1;
  }
}

const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
for (const [i, cells] of table.entries()) {
  process.stdout.write(cells.map((cell, j) => cell.padEnd(widths[j]!)).join('  ') + '\n');
  if (i === 0) process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
}

await server.close();
rmSync(socketDir, { recursive: true, force: true });
