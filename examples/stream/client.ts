/**
 * rpcx-examples' stream client in TypeScript: echoes lines through rpcx's stream service, then reads a typed server
 * stream and sends a typed client stream.
 *
 *   node dist/examples/stream/client.js [tcp@127.0.0.1:8972]
 */
import 'reflect-metadata';
import { Client } from '../../index.js';

const endpoint = process.argv[2] ?? 'tcp@127.0.0.1:8972';
const client = await Client.connect(endpoint);

// rpcx's stream service: a raw byte stream (a Node Duplex) after a token call.
const conn = await client.stream({ example: 'echo' });
const echoed: Buffer[] = [];
conn.on('data', (chunk: Buffer) => echoed.push(chunk));
conn.end('hello stream\n');
await new Promise((resolve) => conn.once('close', resolve));
process.stdout.write(`echo: ${Buffer.concat(echoed).toString()}`);

// Typed streams on the rpcx connection itself.
for await (const tick of client.serverStream<{ N: number }>('Clock', 'Ticks', { Count: 3, IntervalMs: 10 })) {
  process.stdout.write(`tick ${tick.N}\n`);
}
const total = await client.clientStream<number>('Clock', 'Sum', [1, 2, 3, 4]);
process.stdout.write(`sum: ${total}\n`);
await client.close();
