/**
 * Service modules: compiled .js files whose exported `@service()` classes are the services to serve. The unit both
 * `rpcx-ts serve <module>...` and a multi-process server (server/cluster) load, so every worker process builds the
 * same services itself.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import { serviceDefinitionOf } from './decorators.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceModuleClass = new (...args: any[]) => object;

/** Every exported @service class of every module; a module that cannot be loaded or exports none is a ConfigError. */
export async function loadServiceModules(modules: readonly string[]): Promise<Array<{ module: string; cls: ServiceModuleClass }>> {
  const found: Array<{ module: string; cls: ServiceModuleClass }> = [];
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
      found.push({ module, cls: value as ServiceModuleClass });
    }
    if (found.length === before) throw new ConfigError(`module "${module}" exports no @service() class`);
  }
  return found;
}
