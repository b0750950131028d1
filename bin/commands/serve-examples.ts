/** `rpcx-ts serve-examples --listen tcp@127.0.0.1:8972 [--listen ...]`: serves Arith and Echo until stopped. */
import { ConfigError, Server } from '../../index.js';
import { Arith, Echo } from '../../examples/services/index.js';
import { listenOptionsFor, networkFlags } from '../network-options.js';
import { numberOption, parse } from '../options.js';
import { createRegistrar } from '../../registry/index.js';

export const usage = `rpcx-ts serve-examples --listen <network@addr> [--listen ...] [--meta 'weight=7'] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--kcp-key PASSWORD] [--registry etcd://host:port/basePath|redis://host:port/basePath|zk://host:port/basePath|mdns://[?interface=IP] [--registry-ttl s]]`;

export async function serveExamples(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    listen: { type: 'string', multiple: true },
    meta: { type: 'string' },
    registry: { type: 'string' },
    'registry-ttl': { type: 'string' },
    ...networkFlags,
  });
  const listens = (values.listen as string[] | undefined) ?? [];
  if (listens.length === 0) throw new ConfigError(`usage: ${usage}`);
  const server = new Server();
  const metadata = typeof values.meta === 'string' ? values.meta : '';
  server.register(Arith, { metadata });
  server.register(Echo, { metadata });
  if (typeof values.registry === 'string') {
    await server.addRegistrar(createRegistrar(values.registry, { ttlSeconds: numberOption(values['registry-ttl'], 10, 'registry-ttl') }));
  }
  for (const endpoint of listens) {
    const listener = await server.serve(endpoint, listenOptionsFor(endpoint, values));
    // One line per listener, with the real port: scripts read these.
    process.stdout.write(`listening ${listener.network}@${listener.address}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
