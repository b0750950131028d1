/**
 * The builtin introspection service: `__rpcx_introspection.Services` answers the services a server offers, with their
 * metadata and methods, in the request's serialize type. `rpcx-ts list` calls it. It is looked up like any service
 * (so auth and plugins apply) but is not listed among the services, not advertised to registries and not on the
 * pages; `new Server({ introspection: false })` leaves it out. Servers without it (Go rpcx) answer
 * "rpcx: can't find service __rpcx_introspection".
 */
import type { MethodEntry, ServiceEntry, ServiceRegistry } from './service-registry.js';
import { MethodStats } from './observability/stats.js';

export const INTROSPECTION_SERVICE = '__rpcx_introspection';
export const INTROSPECTION_METHOD = 'Services';

export interface MethodDescription {
  name: string;
  /** The protobuf message types, when the method declares them. */
  requestType?: string;
  replyType?: string;
}

export interface ServiceDescription {
  name: string;
  /** rpcx metadata query string (`weight=7&group=a`), as registries advertise it. */
  metadata: string;
  methods: MethodDescription[];
}

export interface IntrospectionReply {
  services: ServiceDescription[];
}

export function describeServices(registry: ServiceRegistry): IntrospectionReply {
  const services = registry.services().map((s) => ({
    name: s.name,
    metadata: s.metadata,
    methods: [...s.methods.values()].map(describeMethod).sort((a, b) => a.name.localeCompare(b.name)),
  }));
  return { services: services.sort((a, b) => a.name.localeCompare(b.name)) };
}

function describeMethod(entry: MethodEntry): MethodDescription {
  const description: MethodDescription = { name: entry.method };
  const typeName = (type: unknown): string | undefined => (type as { fullName?: string; name?: string } | undefined)?.fullName?.replace(/^\./, '') ?? (type as { name?: string } | undefined)?.name;
  const request = typeName(entry.requestType);
  const reply = typeName(entry.replyType);
  if (request) description.requestType = request;
  if (reply) description.replyType = reply;
  return description;
}

/** The introspection service's entry, answering from `registry`. */
export function introspectionService(registry: ServiceRegistry): ServiceEntry {
  const method: MethodEntry = {
    service: INTROSPECTION_SERVICE,
    method: INTROSPECTION_METHOD,
    handler: () => describeServices(registry),
    stats: new MethodStats(INTROSPECTION_SERVICE, INTROSPECTION_METHOD),
  };
  return { name: INTROSPECTION_SERVICE, metadata: '', methods: new Map([[INTROSPECTION_METHOD, method]]) };
}
