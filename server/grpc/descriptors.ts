/**
 * File descriptors of what this server serves, for server reflection: every registered service with its methods, the
 * protobufjs message types given to `@method({ requestType, replyType })` and whatever those types refer to, plus the
 * builtin health and reflection services. One FileDescriptorProto per protobuf package, each naming the files it
 * depends on, so tools (grpcurl, Postman, grpc-js's reflection clients) can resolve every type.
 *
 * Methods without types are described with the empty message `rpcxts.Untyped`: they take raw bytes with
 * `application/grpc` or JSON with `application/grpc+json`.
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import type { ServiceRegistry } from '../service-registry.js';
import { builtinRoot } from './schemas.js';

interface DescriptorModule {
  FileDescriptorProto: { encode(message: unknown): { finish(): Uint8Array } };
}
type FileDescriptor = protobuf.Message & {
  name: string;
  package?: string;
  dependency: string[];
  messageType: Array<{ name: string; field: Array<{ typeName?: string }>; nestedType: unknown[]; enumType: Array<{ name: string }> }>;
  enumType: Array<{ name: string }>;
  service: Array<{ name: string; method: Array<{ inputType: string; outputType: string }> }>;
};

// The descriptor extension patches Root.prototype.toDescriptor and exports descriptor.proto's own messages.
const descriptorModule = createRequire(import.meta.url)('protobufjs/ext/descriptor') as DescriptorModule;

export const UNTYPED = 'rpcxts.Untyped';

export interface ServerDescriptors {
  /** Registered and builtin services by full name. */
  services: string[];
  /** Encoded FileDescriptorProto by file name. */
  files: Map<string, Uint8Array>;
  /** File name by fully-qualified symbol (package, message, enum, service, method). */
  symbols: Map<string, string>;
  /** Every file a file needs, itself first. */
  closure(file: string): Uint8Array[];
}

export function describeServer(registry: ServiceRegistry): ServerDescriptors {
  const root = new protobuf.Root();
  root.define('rpcxts').add(new protobuf.Type('Untyped'));
  for (const nested of builtinRoot.nestedArray) copyInto(root, nested);
  const services: string[] = [];
  for (const entry of registry.services()) {
    const dot = entry.name.lastIndexOf('.');
    const namespace = dot < 0 ? root : root.define(entry.name.slice(0, dot));
    const service = new protobuf.Service(entry.name.slice(dot + 1));
    for (const method of entry.methods.values()) {
      for (const type of [method.requestType, method.replyType]) if (type) copyTypeInto(root, type);
      service.add(new protobuf.Method(method.method, 'rpc', '.' + (method.requestType ? trimDot(method.requestType.fullName) : UNTYPED), '.' + (method.replyType ? trimDot(method.replyType.fullName) : UNTYPED)));
    }
    if (namespace.get(service.name) === null) {
      namespace.add(service);
      services.push(entry.name);
    }
  }
  root.resolveAll();
  services.push('grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection');

  const set = (root as protobuf.Root & { toDescriptor(edition: string): unknown }).toDescriptor('proto3') as { file: FileDescriptor[] };
  const symbols = new Map<string, string>();
  for (const file of set.file) {
    const prefix = file.package ? file.package + '.' : '';
    if (file.package) symbols.set(file.package, file.name);
    for (const message of file.messageType) symbols.set(prefix + message.name, file.name);
    for (const e of file.enumType) symbols.set(prefix + e.name, file.name);
    for (const s of file.service) {
      symbols.set(prefix + s.name, file.name);
      for (const m of s.method as Array<{ name?: string }>) symbols.set(`${prefix}${s.name}.${m.name}`, file.name);
    }
  }
  const dependencies = new Map<string, string[]>();
  for (const file of set.file) {
    const needed = new Set<string>();
    const need = (typeName: string | undefined): void => {
      if (!typeName?.startsWith('.')) return;
      const owner = fileOf(symbols, typeName.slice(1));
      if (owner !== undefined && owner !== file.name) needed.add(owner);
    };
    const walk = (messages: FileDescriptor['messageType']): void => {
      for (const message of messages) {
        for (const field of message.field) need(field.typeName);
        walk(message.nestedType as FileDescriptor['messageType']);
      }
    };
    walk(file.messageType);
    for (const s of file.service) {
      for (const m of s.method) {
        need(m.inputType);
        need(m.outputType);
      }
    }
    file.dependency = [...needed];
    dependencies.set(file.name, file.dependency);
  }
  const files = new Map(set.file.map((file) => [file.name, descriptorModule.FileDescriptorProto.encode(file).finish()] as const));
  return {
    services,
    files,
    symbols,
    closure(name) {
      const order: string[] = [];
      const visit = (n: string): void => {
        if (order.includes(n) || !files.has(n)) return;
        order.push(n);
        for (const d of dependencies.get(n) ?? []) visit(d);
      };
      visit(name);
      return order.map((n) => files.get(n)!);
    },
  };
}

/** The file defining `symbol`, or the one defining its closest enclosing name (a nested message, a field). */
function fileOf(symbols: Map<string, string>, symbol: string): string | undefined {
  for (let name = symbol; name !== ''; name = name.slice(0, Math.max(0, name.lastIndexOf('.')))) {
    const file = symbols.get(name);
    if (file !== undefined) return file;
    if (!name.includes('.')) break;
  }
  return undefined;
}

function trimDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}

/** Copies a top-level reflection object (and its namespaces) from another root, unless already there. */
function copyInto(root: protobuf.Root, object: protobuf.ReflectionObject): void {
  const parentName = object.parent && !(object.parent instanceof protobuf.Root) ? trimDot(object.parent.fullName) : '';
  const target = parentName === '' ? root : root.define(parentName);
  if (target.get(object.name) !== null) {
    if (object instanceof protobuf.Namespace && !(object instanceof protobuf.Type) && !(object instanceof protobuf.Service)) {
      for (const nested of object.nestedArray) copyInto(root, nested);
    }
    return;
  }
  if (object instanceof protobuf.Type) target.add(protobuf.Type.fromJSON(object.name, object.toJSON()));
  else if (object instanceof protobuf.Enum) target.add(protobuf.Enum.fromJSON(object.name, object.toJSON()));
  else if (object instanceof protobuf.Service) target.add(protobuf.Service.fromJSON(object.name, object.toJSON()));
  else if (object instanceof protobuf.Namespace) {
    root.define(trimDot(object.fullName));
    for (const nested of object.nestedArray) copyInto(root, nested);
  }
}

/** Copies a message type (its outermost enclosing message, in fact) and every type its fields use. */
function copyTypeInto(root: protobuf.Root, type: protobuf.Type, seen = new Set<protobuf.ReflectionObject>()): void {
  let outer: protobuf.ReflectionObject = type;
  while (outer.parent instanceof protobuf.Type) outer = outer.parent;
  if (seen.has(outer)) return;
  seen.add(outer);
  try {
    (outer as protobuf.Type).root.resolveAll();
  } catch {
    // An unresolvable reference elsewhere in that root: copy what resolves.
  }
  copyInto(root, outer);
  const visit = (t: protobuf.Type): void => {
    for (const field of t.fieldsArray) {
      const used = field.resolvedType;
      if (used instanceof protobuf.Type) copyTypeInto(root, used, seen);
      else if (used instanceof protobuf.Enum && !(used.parent instanceof protobuf.Type)) copyInto(root, used);
    }
    for (const nested of t.nestedArray) if (nested instanceof protobuf.Type) visit(nested);
  };
  visit(outer as protobuf.Type);
}
