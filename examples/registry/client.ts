/**
 * An XClient that finds Arith servers in a registry and spreads calls over them, failing over between them.
 *
 *   node dist/examples/registry/client.js etcd://127.0.0.1:2379/rpcx_test [calls]
 */
import 'reflect-metadata';
import { XClient } from '../../index.js'; // rpcx-ts
import { createDiscovery } from '../../registry/index.js'; // rpcx-ts/registry
import type { Arith } from '../services/arith.js';

const [registryUrl = 'etcd://127.0.0.1:2379/rpcx_test', count = '10'] = process.argv.slice(2);
const discovery = await createDiscovery(registryUrl, 'Arith');
process.stdout.write(`servers: ${discovery.list().map((p) => p.key).join(', ') || '(none yet)'}\n`);
const xclient = new XClient('Arith', 'failover', 'roundrobin', discovery, { timeoutMs: 5000 });
const arith = xclient.proxy<Arith>();
for (let i = 1; i <= Number(count); i++) {
  const reply = await arith.mul({ A: i, B: 10 });
  process.stdout.write(`${i} * 10 = ${reply.C}\n`);
}
await xclient.close();
await discovery.close();
