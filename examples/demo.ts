/**
 * `npm start`: serves the example services on every network this build has, on the embedded default (no registry),
 * then calls them through each network and prints a table: network, address, result, latency.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Server, SerializeType, silentLogger } from '../index.js';
import { Arith, Echo } from './services/index.js';

const socketDir = mkdtempSync(join(tmpdir(), 'rpcx-demo-'));
/** One listener per network; port 0 picks free ports. */
const endpoints = ['tcp@127.0.0.1:0', `unix@${join(socketDir, 'arith.sock')}`];

const server = new Server({ logger: silentLogger });
server.register(Arith);
server.register(Echo);

const rows: string[][] = [['network', 'address', 'call', 'result', 'latency']];
for (const endpoint of endpoints) {
  const listener = await server.serve(endpoint);
  const address = `${listener.network}@${listener.address}`;
  const client = await Client.connect(address);
  try {
    const t0 = performance.now();
    const mul = await client.call<{ C: number }>('Arith', 'Mul', { A: 10, B: 20 });
    const t1 = performance.now();
    const echo = await client.call<Uint8Array>('Echo', 'Echo', new TextEncoder().encode('hello'), { serializeType: SerializeType.None });
    const t2 = performance.now();
    rows.push([listener.network, listener.address, 'Arith.Mul {A:10,B:20}', `C=${mul.C}`, `${(t1 - t0).toFixed(2)} ms`]);
    rows.push([listener.network, listener.address, 'Echo.Echo "hello"', JSON.stringify(new TextDecoder().decode(echo)), `${(t2 - t1).toFixed(2)} ms`]);
  } catch (error) {
    rows.push([listener.network, listener.address, 'Arith.Mul', `FAILED: ${(error as Error).message}`, '-']);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [i, row] of rows.entries()) {
  process.stdout.write(row.map((cell, j) => cell.padEnd(widths[j]!)).join('  ') + '\n');
  if (i === 0) process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
}

await server.close();
rmSync(socketDir, { recursive: true, force: true });
