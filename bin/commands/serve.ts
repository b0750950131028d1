/**
 * `rpcx-ts serve <module.js>... --listen ...`: imports the user's modules and serves every exported `@service` class
 * (resolved through tsyringe, so constructor injection works), with the flags of serve-examples.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, Server } from '../../index.js';
import { serviceDefinitionOf } from '../../server/decorators.js';
import type { Command } from '../command.js';
import { runServer, serveDetails, serveFlags, serverLogger, serveSettings } from '../serve-runner.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Serves every exported @service class of the given modules (compiled .js/.mjs files).',
  args: '<module>...',
  positionals: { min: 1, max: Infinity },
  flags: serveFlags,
  details: `Each module is imported and each of its exports decorated with @service() is registered under its service name.
Example: rpcx-ts serve dist/services/arith.js --listen tcp@0.0.0.0:8972 --registry etcd://127.0.0.1:2379/rpcx
${serveDetails}`,

  async run({ values, positionals }) {
    const settings = serveSettings(values);
    const classes = await serviceClasses(positionals);
    const server = new Server({ logger: serverLogger(values) });
    for (const { cls } of classes) server.register(cls, settings.metadata ? { metadata: settings.metadata } : {});
    server.logger.info('services loaded', { services: server.registry.services().map((s) => s.name), modules: positionals });
    return runServer(server, settings, values);
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ServiceClass = new (...args: any[]) => object;

/** Every exported @service class of every module; a module that cannot be loaded or exports none is a ConfigError. */
async function serviceClasses(modules: string[]): Promise<Array<{ module: string; cls: ServiceClass }>> {
  const found: Array<{ module: string; cls: ServiceClass }> = [];
  const names = new Map<string, string>();
  for (const module of modules) {
    const path = resolve(module);
    if (!existsSync(path)) throw new ConfigError(`module "${module}" does not exist`);
    if (/\.[cm]?ts$/.test(path)) throw new ConfigError(`module "${module}" is TypeScript: compile it first (decorators need tsc) and give the .js file`);
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`module "${module}" failed to load: ${(error as Error).message}`);
    }
    const before = found.length;
    for (const value of new Set(Object.values(exports))) {
      if (typeof value !== 'function') continue;
      const definition = serviceDefinitionOf(value);
      if (!definition) continue;
      const other = names.get(definition.name);
      if (other !== undefined) throw new ConfigError(`service ${definition.name} is exported by both "${other}" and "${module}"`);
      names.set(definition.name, module);
      found.push({ module, cls: value as ServiceClass });
    }
    if (found.length === before) throw new ConfigError(`module "${module}" exports no @service() class`);
  }
  return found;
}
