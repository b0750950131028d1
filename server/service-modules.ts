/**
 * Service modules: compiled .js files whose exported `@service()` classes are the services to serve. The unit both
 * `rpcx-ts serve <module>...` and a multi-process server (server/cluster) load, so every worker process builds the
 * same services itself. A module may also export `serverOptions` (Server constructor options, functions allowed:
 * auth, plugins, CORS) and `configureServer(server)`, called with each Server before it listens: where what cannot
 * be passed between processes is set up.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import { serviceDefinitionOf } from './decorators.js';
import type { Server, ServerOptions } from './server.js';

/** A module's `configureServer` export: runs once per Server (once per worker process), before it listens. */
export type ConfigureServer = (server: Server) => void | Promise<void>;

export interface ServiceModules {
  services: Array<{ module: string; cls: ServiceModuleClass }>;
  configure: ConfigureServer[];
  /** The modules' `serverOptions` exports merged in module order (later modules win). */
  options: ServerOptions;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceModuleClass = new (...args: any[]) => object;

/**
 * Every exported @service class and `configureServer` function of every module; a module that cannot be loaded, or
 * exports neither, is a ConfigError.
 */
export async function loadServiceModules(modules: readonly string[]): Promise<ServiceModules> {
  const found: Array<{ module: string; cls: ServiceModuleClass }> = [];
  const configure: ConfigureServer[] = [];
  let options: ServerOptions = {};
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
    const configureServer = exports.configureServer;
    if (configureServer !== undefined && typeof configureServer !== 'function') throw new ConfigError(`module "${module}" exports configureServer, but not as a function`);
    if (configureServer !== undefined) configure.push(configureServer as ConfigureServer);
    const serverOptions = exports.serverOptions;
    if (serverOptions !== undefined && (typeof serverOptions !== 'object' || serverOptions === null)) throw new ConfigError(`module "${module}" exports serverOptions, but not as an object`);
    if (serverOptions !== undefined) options = { ...options, ...(serverOptions as ServerOptions) };
    for (const value of new Set(Object.values(exports))) {
      if (typeof value !== 'function') continue;
      const definition = serviceDefinitionOf(value);
      if (!definition) continue;
      const other = names.get(definition.name);
      if (other !== undefined) throw new ConfigError(`service ${definition.name} is exported by both "${other}" and "${module}"`);
      names.set(definition.name, module);
      found.push({ module, cls: value as ServiceModuleClass });
    }
    if (found.length === before && configureServer === undefined && serverOptions === undefined) throw new ConfigError(`module "${module}" exports no @service() class`);
  }
  return { services: found, configure, options };
}
