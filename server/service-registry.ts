/**
 * The services a server exposes, by wire name. Classes are resolved through tsyringe (constructor injection);
 * instances and plain functions are taken as they are.
 */
import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { ConfigError } from '../errors.js';
import type { CallContext } from './context.js';
import { goName, methodDefinitionsOf, serviceDefinitionOf, type MethodDefinition, type MethodOptions } from './decorators.js';
import { MethodStats } from './observability/stats.js';
import type { StreamKind } from '../protocol/stream-frames.js';

export type Handler = (args: unknown, ctx: CallContext) => unknown;

export interface MethodEntry {
  readonly service: string;
  readonly method: string;
  readonly handler: Handler;
  readonly requestType?: MethodOptions['requestType'];
  readonly replyType?: MethodOptions['replyType'];
  /** Set for a typed message stream method: which way its messages flow. */
  readonly stream?: StreamKind;
  /** Calls, errors, in-flight and latency of this method (updated by the dispatcher). */
  readonly stats: MethodStats;
}

export interface ServiceEntry {
  readonly name: string;
  /** rpcx-style metadata query string (`weight=10&group=a`), advertised to registries. */
  metadata: string;
  readonly methods: Map<string, MethodEntry>;
}

export interface RegisterOptions {
  /** Service name on the wire (default: the decorator's name, else the class name). */
  name?: string;
  /** rpcx-style metadata query string. */
  metadata?: string;
  /** tsyringe container to resolve the class from (default: the root container). */
  container?: DependencyContainer;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceClass = new (...args: any[]) => object;

export class ServiceRegistry {
  readonly #services = new Map<string, ServiceEntry>();
  /** Services the server itself answers (introspection): found by get(), never listed by services(). */
  readonly #builtins = new Map<string, ServiceEntry>();

  /** Registers a decorated (or plain) class, resolved through tsyringe, or an already built instance. */
  register(target: ServiceClass | object, options: RegisterOptions = {}): ServiceEntry {
    const isClass = typeof target === 'function';
    const ctor = (isClass ? target : target.constructor) as ServiceClass;
    const definition = serviceDefinitionOf(ctor);
    const name = options.name ?? definition?.name ?? ctor.name;
    if (!name) throw new ConfigError('rpcx: a service needs a name');
    const instance = isClass ? (options.container ?? rootContainer).resolve(ctor) : target;
    const entry = this.#entry(name, options.metadata ?? definition?.metadata ?? '');
    const decorated = methodDefinitionsOf(ctor);
    const definitions: MethodDefinition[] = decorated ?? publicMethodsOf(instance).map((property) => ({ property, name: goName(property) }));
    for (const d of definitions) {
      const fn = (instance as Record<string, unknown>)[d.property];
      if (typeof fn !== 'function') throw new ConfigError(`rpcx: ${name}.${d.property} is not a method`);
      const methodEntry: MethodEntry = {
        service: name,
        method: d.name,
        handler: (fn as Handler).bind(instance),
        stats: entry.methods.get(d.name)?.stats ?? new MethodStats(name, d.name),
        ...(d.requestType ? { requestType: d.requestType } : {}),
        ...(d.replyType ? { replyType: d.replyType } : {}),
        ...streamKindOf(fn, d.stream),
      };
      entry.methods.set(d.name, methodEntry);
    }
    if (entry.methods.size === 0) throw new ConfigError(`rpcx: service ${name} has no methods`);
    return entry;
  }

  /** Registers one function as `service.method`, as rpcx's RegisterFunction does. */
  registerFunction(serviceName: string, methodName: string, handler: Handler, options: MethodOptions & { metadata?: string } = {}): void {
    const entry = this.#entry(serviceName, options.metadata ?? '');
    entry.methods.set(methodName, {
      service: serviceName,
      method: methodName,
      handler,
      stats: entry.methods.get(methodName)?.stats ?? new MethodStats(serviceName, methodName),
      ...(options.requestType ? { requestType: options.requestType } : {}),
      ...(options.replyType ? { replyType: options.replyType } : {}),
      ...streamKindOf(handler, options.stream),
    });
  }

  unregister(name: string): boolean {
    return this.#services.delete(name);
  }

  get(name: string): ServiceEntry | undefined {
    return this.#services.get(name) ?? this.#builtins.get(name);
  }

  /** Adds a service of the server itself; a user service of the same name takes precedence. */
  addBuiltin(entry: ServiceEntry): void {
    this.#builtins.set(entry.name, entry);
  }

  services(): ServiceEntry[] {
    return [...this.#services.values()];
  }

  #entry(name: string, metadata: string): ServiceEntry {
    let entry = this.#services.get(name);
    if (!entry) {
      entry = { name, metadata, methods: new Map() };
      this.#services.set(name, entry);
    } else if (metadata) entry.metadata = metadata;
    return entry;
  }
}

/** A method's stream kind: the declared one, else `server` for an async generator function, else none (unary). */
function streamKindOf(fn: unknown, declared: StreamKind | undefined): { stream?: StreamKind } {
  if (declared) return { stream: declared };
  return Object.prototype.toString.call(fn) === '[object AsyncGeneratorFunction]' ? { stream: 'server' } : {};
}

function publicMethodsOf(instance: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(instance) as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === 'constructor' || key.startsWith('_')) continue;
      const descriptor = Object.getOwnPropertyDescriptor(p, key);
      if (descriptor && typeof descriptor.value === 'function') names.add(key);
    }
  }
  return [...names];
}
