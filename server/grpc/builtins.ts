/**
 * gRPC's own services, answered by the front end itself (they are not rpcx services and do not show in /status):
 *
 *   grpc.health.v1.Health/Check    "" → the server (SERVING, NOT_SERVING while shutting down); a registered service
 *                                  by name (with or without package prefix) → its status; any other → NOT_FOUND
 *   grpc.health.v1.Health/Watch    the same status as a stream; NOT_SERVING is sent when the server starts draining
 *   grpc.reflection.v1{,alpha}.ServerReflection/ServerReflectionInfo
 *                                  list_services, file_containing_symbol, file_by_filename (descriptors.ts);
 *                                  extensions are answered NOT_FOUND (no extensions are registered)
 *
 * They do not go through the dispatcher, so the auth function, plugins and rate limit do not apply to them: load
 * balancers and probes check health without credentials, and reflection tells only what clients could call anyway.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { ServiceRegistry } from '../service-registry.js';
import type { GrpcConnection } from './connection.js';
import { describeServer, type ServerDescriptors } from './descriptors.js';
import { MessageReader } from './framing.js';
import type { GrpcResponder } from './responder.js';
import { HealthCheckRequest, HealthCheckResponse, HEALTH_SERVICE, REFLECTION_SERVICES, ServerReflectionRequest, ServerReflectionResponse } from './schemas.js';
import { GrpcStatus } from './status.js';

export type BuiltinHandler = (responder: GrpcResponder, connection: GrpcConnection, headers: IncomingHttpHeaders) => void;

type Builtin = (responder: GrpcResponder, connection: GrpcConnection, registry: ServiceRegistry, limit: number) => void;

const BUILTINS = new Map<string, Builtin>([
  [`/${HEALTH_SERVICE}/Check`, healthCheck],
  [`/${HEALTH_SERVICE}/Watch`, healthWatch],
  ...REFLECTION_SERVICES.map((service) => [`/${service}/ServerReflectionInfo`, reflection] as [string, Builtin]),
]);

export function builtinHandler(path: string, registry: ServiceRegistry, maxMessageLength: number): BuiltinHandler | undefined {
  // Every builtin lives under /grpc.*: other paths pay one comparison.
  const builtin = path.startsWith('/grpc.') ? BUILTINS.get(path) : undefined;
  if (builtin === undefined) return undefined;
  return (responder, connection) => builtin(responder, connection, registry, maxMessageLength);
}

type Serving = 'SERVING' | 'NOT_SERVING' | undefined;

function servingStatus(registry: ServiceRegistry, connection: GrpcConnection, service: string): Serving {
  const status = connection.draining ? 'NOT_SERVING' : 'SERVING';
  if (service === '' || service === HEALTH_SERVICE) return status;
  if (registry.get(service) || registry.get(service.slice(service.lastIndexOf('.') + 1))) return status;
  return undefined;
}

/** Reads the request messages of a stream, decoded with `decode`; `onMessage` per message, `onEnd` at half-close. */
function readMessages(responder: GrpcResponder, limit: number, onMessage: (bytes: Buffer) => void, onEnd: () => void): void {
  const reader = new MessageReader(limit);
  const stream = responder.stream;
  stream.on('data', (chunk: Buffer) => {
    if (responder.done) return;
    try {
      for (const message of reader.push(chunk)) {
        if (message.compressed) throw new Error('grpc: compressed requests are not accepted by builtin services');
        onMessage(message.bytes);
      }
    } catch (error) {
      responder.finish(GrpcStatus.INVALID_ARGUMENT, (error as Error).message);
    }
  });
  stream.on('end', () => {
    if (!responder.done) onEnd();
  });
}

function decodeHealth(bytes: Buffer): string {
  return (HealthCheckRequest.toObject(HealthCheckRequest.decode(bytes), { defaults: true }) as { service: string }).service;
}

function healthReply(status: Serving): Uint8Array {
  return HealthCheckResponse.encode(HealthCheckResponse.fromObject({ status: status ?? 'SERVICE_UNKNOWN' })).finish();
}

function healthCheck(responder: GrpcResponder, connection: GrpcConnection, registry: ServiceRegistry, limit: number): void {
  let service: string | undefined;
  readMessages(
    responder,
    limit,
    (bytes) => {
      service = decodeHealth(bytes);
    },
    () => {
      if (service === undefined) return responder.finish(GrpcStatus.INVALID_ARGUMENT, 'grpc: health check without a request message');
      const status = servingStatus(registry, connection, service);
      if (status === undefined) return responder.finish(GrpcStatus.NOT_FOUND, `grpc: unknown service ${service}`);
      responder.unary(healthReply(status));
    },
  );
}

function healthWatch(responder: GrpcResponder, connection: GrpcConnection, registry: ServiceRegistry, limit: number): void {
  readMessages(
    responder,
    limit,
    (bytes) => {
      const service = decodeHealth(bytes);
      const status = servingStatus(registry, connection, service);
      responder.send(healthReply(status));
      if (status === 'SERVING') {
        connection.onDrain(() => {
          responder.send(healthReply('NOT_SERVING'));
          responder.finish(GrpcStatus.OK);
        });
      }
    },
    () => undefined, // the client keeps watching until it cancels
  );
}

function reflection(responder: GrpcResponder, _connection: GrpcConnection, registry: ServiceRegistry, limit: number): void {
  let descriptors: ServerDescriptors | undefined;
  readMessages(
    responder,
    limit,
    (bytes) => {
      const request = ServerReflectionRequest.toObject(ServerReflectionRequest.decode(bytes)) as Record<string, unknown>;
      descriptors ??= describeServer(registry);
      responder.send(ServerReflectionResponse.encode(ServerReflectionResponse.fromObject(answer(descriptors, request))).finish());
    },
    () => responder.finish(GrpcStatus.OK),
  );
}

function answer(descriptors: ServerDescriptors, request: Record<string, unknown>): Record<string, unknown> {
  const base = { validHost: request.host ?? '', originalRequest: request };
  const notFound = (what: string): Record<string, unknown> => ({ ...base, errorResponse: { errorCode: GrpcStatus.NOT_FOUND, errorMessage: `${what} not found` } });
  if (typeof request.listServices === 'string') {
    return { ...base, listServicesResponse: { service: descriptors.services.map((name) => ({ name })) } };
  }
  if (typeof request.fileContainingSymbol === 'string') {
    const file = descriptors.symbols.get(request.fileContainingSymbol);
    if (file === undefined) return notFound(`symbol ${request.fileContainingSymbol}`);
    return { ...base, fileDescriptorResponse: { fileDescriptorProto: descriptors.closure(file) } };
  }
  if (typeof request.fileByFilename === 'string') {
    if (!descriptors.files.has(request.fileByFilename)) return notFound(`file ${request.fileByFilename}`);
    return { ...base, fileDescriptorResponse: { fileDescriptorProto: descriptors.closure(request.fileByFilename) } };
  }
  if (request.fileContainingExtension !== undefined) return notFound('extension');
  if (typeof request.allExtensionNumbersOfType === 'string') return notFound(`type ${request.allExtensionNumbersOfType}`);
  return { ...base, errorResponse: { errorCode: GrpcStatus.UNIMPLEMENTED, errorMessage: 'grpc: unknown reflection request' } };
}
