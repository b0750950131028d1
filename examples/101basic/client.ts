/**
 * rpcx's 101basic client in TypeScript: calls Arith.Mul on the 101basic server (Go's or ours).
 *
 *   node dist/examples/101basic/client.js [tcp@127.0.0.1:8972]
 */
import 'reflect-metadata';
import { Client } from '../../index.js';
import type { Arith } from '../services/arith.js';

const endpoint = process.argv[2] ?? 'tcp@127.0.0.1:8972';
const client = await Client.connect(endpoint);
const arith = client.proxy<Arith>('Arith');
const args = { A: 10, B: 20 };
const reply = await arith.mul(args, { timeoutMs: 5000 });
process.stdout.write(`${args.A} * ${args.B} = ${reply.C}\n`);
await client.close();
