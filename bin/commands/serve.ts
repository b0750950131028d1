/**
 * `rpcx-ts serve <module.js>... --listen ...`: imports the user's modules and serves every exported `@service` class
 * (resolved through tsyringe, so constructor injection works), with the flags of serve-examples.
 */
import { Server } from '../../index.js';
import { loadServiceModules } from '../../server/service-modules.js';
import type { Command } from '../command.js';
import { runCluster, runServer, serveDetails, serveFlags, serverLogger, serveSettings } from '../serve-runner.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Serves every exported @service class of the given modules (compiled .js/.mjs files).',
  args: '<module>...',
  positionals: { min: 1, max: Infinity },
  flags: serveFlags,
  details: `Each module is imported and each of its exports decorated with @service() is registered under its service name;
an exported serverOptions object is passed to the Server (auth, plugins, limits...), and an exported
configureServer(server) function is called with it before it listens. With --workers, in every worker.
Example: rpcx-ts serve dist/services/arith.js --listen tcp@0.0.0.0:8972 --registry etcd://127.0.0.1:2379/rpcx
${serveDetails}`,

  async run({ values, positionals }) {
    const settings = serveSettings(values);
    // Loaded here even with --workers, so a bad module fails before any worker starts.
    const { services, configure, options } = await loadServiceModules(positionals);
    if (settings.workers > 1) return runCluster(positionals, settings, values);
    const server = new Server({ ...options, logger: serverLogger(values) });
    for (const { cls } of services) server.register(cls, settings.metadata ? { metadata: settings.metadata } : {});
    for (const configureServer of configure) await configureServer(server);
    server.logger.info('services loaded', { services: server.registry.services().map((s) => s.name), modules: positionals });
    return runServer(server, settings, values);
  },
};
