/**
 * Service decorators. `@service()` marks a class as an rpcx service (and as tsyringe-injectable, so its constructor
 * dependencies are resolved from the container); `@method()` marks the methods it exposes. A class with no `@method`
 * exposes every public method of its prototype, as a Go service exposes every exported method.
 *
 * Wire names follow Go: the service name defaults to the class name and a method's name to the JavaScript name with
 * its first letter upper-cased (`mul` is served as `Mul`), so Go rpcx clients call TypeScript services unchanged.
 */
import 'reflect-metadata';
import { injectable } from 'tsyringe';
import type { ProtobufType } from '../codec/protobuf.js';
import { goName } from '../protocol/names.js';
import type { StreamKind } from '../protocol/stream-frames.js';

export { goName };

export interface ServiceOptions {
  /** The service path on the wire (default: the class name). */
  name?: string;
  /** rpcx-style server metadata for this service, e.g. `weight=10&group=a`. */
  metadata?: string;
}

export interface MethodOptions {
  /** The method name on the wire (default: the JavaScript name, first letter upper-cased). */
  name?: string;
  /** protobuf message type of the argument (serialize type 2). */
  requestType?: ProtobufType;
  /** protobuf message type of the reply (serialize type 2). */
  replyType?: ProtobufType;
  /**
   * A typed message stream (rpcx-ts peers only, docs/streams.md): `server` (an `async *method(args, ctx)` is one
   * without saying so), `client` (`method(input: AsyncIterable, ctx)` returns the reply) or `bidi`
   * (`async *method(input: AsyncIterable, ctx)`).
   */
  stream?: StreamKind;
}

export interface ServiceDefinition {
  name: string;
  metadata?: string;
}

export interface MethodDefinition extends MethodOptions {
  property: string;
  name: string;
}

const SERVICE = Symbol.for('rpcx-ts:service');
const METHODS = Symbol.for('rpcx-ts:methods');

// The decorators accept any constructor: TypeScript's ClassDecorator signature is `Function`-typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClass = new (...args: any[]) => unknown;

export function service(nameOrOptions?: string | ServiceOptions): ClassDecorator {
  const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : (nameOrOptions ?? {});
  return (target) => {
    injectable()(target as unknown as AnyClass);
    const definition: ServiceDefinition = { name: options.name ?? target.name };
    if (options.metadata !== undefined) definition.metadata = options.metadata;
    Reflect.defineMetadata(SERVICE, definition, target);
  };
}

export function method(nameOrOptions?: string | MethodOptions): MethodDecorator {
  const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : (nameOrOptions ?? {});
  return (target, propertyKey) => {
    const property = String(propertyKey);
    const owner = target.constructor;
    const list: MethodDefinition[] = [...((Reflect.getOwnMetadata(METHODS, owner) as MethodDefinition[] | undefined) ?? [])];
    list.push({ ...options, property, name: options.name ?? goName(property) });
    Reflect.defineMetadata(METHODS, list, owner);
  };
}


export function serviceDefinitionOf(target: object): ServiceDefinition | undefined {
  return Reflect.getMetadata(SERVICE, target) as ServiceDefinition | undefined;
}

/** Decorated methods of the class and its ancestors; undefined when none is decorated. */
export function methodDefinitionsOf(target: object): MethodDefinition[] | undefined {
  const found: MethodDefinition[] = [];
  for (let c: object | null = target; c && c !== Object; c = Object.getPrototypeOf(c) as object | null) {
    const own = Reflect.getOwnMetadata(METHODS, c) as MethodDefinition[] | undefined;
    if (own) found.push(...own.filter((d) => !found.some((f) => f.property === d.property)));
  }
  return found.length > 0 ? found : undefined;
}
