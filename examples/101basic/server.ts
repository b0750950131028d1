/**
 * rpcx's 101basic server in TypeScript: serves Arith on tcp@localhost:8972 (or the address given as the first
 * argument). Go's 101basic client can call it unchanged.
 *
 *   node dist/examples/101basic/server.js [tcp@127.0.0.1:8972]
 */
import 'reflect-metadata';
import { Server } from '../../index.js';
import { serveUntilSignal } from '../until-signal.js';
import { Arith } from '../services/arith.js';

const endpoint = process.argv[2] ?? 'tcp@127.0.0.1:8972';
const server = new Server();
server.register(Arith);
const listener = await server.serve(endpoint);
serveUntilSignal(server, listener);
