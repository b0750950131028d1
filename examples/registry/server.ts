/**
 * A server that registers itself in a registry: etcd, Redis or ZooKeeper in rpcx's key layout, or mDNS.
 *
 *   node dist/examples/registry/server.js etcd://127.0.0.1:2379/rpcx_test [tcp@127.0.0.1:0]
 *   node dist/examples/registry/server.js zk://127.0.0.1:2181/rpcx_test
 *   node dist/examples/registry/server.js mdns://
 *
 * SIGTERM or Ctrl-C: it deregisters, keeps serving while clients move away, drains in-flight calls, then exits.
 */
import 'reflect-metadata';
import { Server } from '../../index.js'; // rpcx-ts
import { createRegistrar } from '../../registry/index.js'; // rpcx-ts/registry
import { serveUntilSignal } from '../until-signal.js';
import { Arith } from '../services/arith.js';

const [registryUrl = 'etcd://127.0.0.1:2379/rpcx_test', endpoint = 'tcp@127.0.0.1:0'] = process.argv.slice(2);
const server = new Server();
server.register(Arith, { metadata: 'weight=10' });
await server.addRegistrar(createRegistrar(registryUrl, { ttlSeconds: 10 }));
const listener = await server.serve(endpoint);
serveUntilSignal(server, listener);
