/**
 * gRPC on the one port: sockets the sniffer found starting with the HTTP/2 connection preface (h2c, prior knowledge)
 * or negotiating ALPN `h2` over TLS are handed to one internal `http2` server (never listening itself). Every stream
 * `/<Service>/<Method>` is one call through the same Dispatcher as rpcx calls, so auth, plugins, rate limit, stats,
 * rpcz and tracing apply alike.
 *
 * The service part may carry a protobuf package: `/pkg.Greeter/SayHello` reaches the service registered as
 * `pkg.Greeter` if there is one, else the one registered as `Greeter`. Content types: `application/grpc` and
 * `application/grpc+proto` are protobuf (serialize type 2: the method's requestType/replyType; raw bytes for methods
 * without types), `application/grpc+json` is JSON (serialize type 1). Calls take one request message and answer one
 * reply, or, for a server-streaming method, a typed stream's messages (call.ts); health checking and server reflection
 * are answered by builtins.ts.
 */
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { MessageTooLargeError, messageOf } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { MessageType, MetaKey, SerializeType } from '../../protocol/constants.js';
import { Message } from '../../protocol/message.js';
import { DEFAULT_STREAM_WINDOW, StreamFrame } from '../../protocol/stream-frames.js';
import type { SocketConn } from '../../transport/socket-conn.js';
import type { Dispatcher } from '../dispatcher.js';
import type { PluginContainer } from '../plugins.js';
import type { ServiceRegistry } from '../service-registry.js';
import { builtinHandler } from './builtins.js';
import { GrpcCall } from './call.js';
import { GrpcConnection } from './connection.js';
import type { GrpcLimits } from './limits.js';
import { inflateMessage, MessageReader } from './framing.js';
import { metadataOfHeaders } from './metadata.js';
import { GrpcResponder } from './responder.js';
import { GrpcStatus } from './status.js';

/**
 * The connection-level receive window each session opens with (HTTP/2 starts at 64 KiB): a client with a hundred
 * 1 KiB requests outstanding sends them all at once instead of waiting for a WINDOW_UPDATE every half window. It is
 * permission, not memory: request bodies are read as they arrive, and maxSessionMemory still bounds a session.
 */
const CONNECTION_WINDOW = 1 << 20;

/** What the gRPC front end needs from its Server. */
export interface GrpcHost {
  readonly dispatcher: Dispatcher;
  readonly registry: ServiceRegistry;
  readonly plugins: PluginContainer;
  readonly logger: Logger;
  /** Largest request message (RESOURCE_EXHAUSTED above). */
  readonly maxMessageLength: number;
  /** Largest inflated message of a compressed request. */
  readonly maxDecompressedLength: number;
  /** With defaults applied. */
  readonly limits: Required<GrpcLimits>;
  connectionClosed(connection: GrpcConnection, error?: Error): void;
}

export class GrpcFrontend {
  readonly #host: GrpcHost;
  readonly #server: http2.Http2Server;
  #accepting: GrpcConnection | undefined;
  /** One 'error' listener for every stream (`this` is the stream), not a closure per call. */
  readonly #onStreamError: (this: http2.ServerHttp2Stream, error: Error) => void;

  constructor(host: GrpcHost) {
    this.#host = host;
    this.#onStreamError = function (this: http2.ServerHttp2Stream, error: Error): void {
      host.logger.debug('grpc stream error', { remote: this.session?.socket?.remoteAddress, error });
    };
    this.#server = http2.createServer({
      maxSessionMemory: 64,
      settings: { maxConcurrentStreams: host.limits.maxConcurrentStreams },
    });
    this.#server.on('session', (session: http2.ServerHttp2Session) => {
      const connection = this.#accepting;
      if (connection === undefined) return session.destroy();
      connection.session = session;
      session.setLocalWindowSize(CONNECTION_WINDOW);
      session.on('stream', (stream, headers) => this.#stream(connection, stream, headers));
      session.on('error', (error) => host.logger.debug('grpc session error', { remote: connection.remoteAddress, error }));
    });
  }

  /** Takes over a socket speaking HTTP/2 (bytes already read must have been unshifted and the socket left paused). */
  accept(conn: SocketConn, socket: Socket): GrpcConnection {
    const connection = new GrpcConnection(conn, socket, this.#host.limits.idleTimeoutMs);
    conn.onClose((error) => {
      connection.closedNow();
      this.#host.connectionClosed(connection, error);
    });
    this.#accepting = connection;
    try {
      this.#server.emit('connection', socket);
    } finally {
      this.#accepting = undefined;
    }
    return connection;
  }

  #stream(connection: GrpcConnection, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const host = this.#host;
    connection.requests++;
    stream.on('error', this.#onStreamError);
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    const contentType = headers['content-type'] ?? '';
    const serializeType = serializeTypeOf(contentType);
    if (serializeType === undefined) {
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: true });
      return;
    }
    const responder = new GrpcResponder(stream, contentType, connection);
    const path = headers[':path'] ?? '';
    const builtin = builtinHandler(path, host.registry, host.maxMessageLength);
    if (builtin !== undefined) return builtin(responder, connection, headers);
    // preReadRequest plugins (maybe async) run now; the call is dispatched once they are done and the body is in.
    let before: Promise<void> | void = undefined;
    try {
      if (host.plugins.preReadRequest.length !== 0) before = host.plugins.runPreReadRequest(connection);
    } catch (error) {
      responder.finish(GrpcStatus.INTERNAL, messageOf(error));
      stream.resume();
      return;
    }

    const metadata = metadataOfHeaders(headers);
    const timeout = metadata?.[MetaKey.ServerTimeout];
    const call = new GrpcCall(connection, responder, timeout === undefined ? undefined : Number(timeout));
    const slash = path.indexOf('/', 1);
    if (path.charCodeAt(0) !== 47 /* '/' */ || slash < 0) {
      call.refuse(GrpcStatus.UNIMPLEMENTED, `grpc: malformed method path ${path}`);
      stream.resume();
      return;
    }
    const servicePath = this.#serviceName(path.slice(1, slash));
    const serviceMethod = path.slice(slash + 1);
    const streamKind = host.registry.get(servicePath)?.methods.get(serviceMethod)?.stream;
    if (streamKind === 'client' || streamKind === 'bidi') {
      call.refuse(GrpcStatus.UNIMPLEMENTED, `grpc: ${servicePath}.${serviceMethod} is a ${streamKind}-streaming method; over gRPC only unary and server-streaming methods are served`);
      stream.resume();
      return;
    }
    const encoding = headers['grpc-encoding'] as string | undefined;
    const reader = new MessageReader(host.maxMessageLength);
    let payload: Buffer | undefined;
    let count = 0;
    let failed = false;
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        for (const message of reader.push(chunk)) {
          if (++count === 1) payload = message.compressed ? inflateMessage(encoding, message.bytes, host.maxDecompressedLength) : message.bytes;
        }
      } catch (error) {
        failed = true;
        call.refuse(error instanceof MessageTooLargeError ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INVALID_ARGUMENT, (error as Error).message);
      }
    });
    stream.on('end', () => {
      if (failed) return;
      if (count !== 1 || reader.partial) {
        call.refuse(
          count > 1 ? GrpcStatus.UNIMPLEMENTED : GrpcStatus.INTERNAL,
          count > 1 ? 'grpc: client streaming is not supported; a unary call takes one message' : 'grpc: the request ended without one whole message',
        );
        return;
      }
      const seq = stream.id ?? 0;
      let requestMetadata = metadata;
      if (streamKind === 'server') {
        // Opened as a typed stream (docs/streams.md) that this call drives as its client.
        requestMetadata = { ...metadata, [MetaKey.Stream]: StreamFrame.Open, [MetaKey.StreamCredit]: String(DEFAULT_STREAM_WINDOW) };
        call.openStream(host.dispatcher, seq, serializeType);
      }
      const request = new Message({
        type: MessageType.Request,
        serializeType,
        seq,
        servicePath,
        serviceMethod,
        payload: payload!,
        ...(requestMetadata ? { metadata: requestMetadata } : {}),
      });
      if (before === undefined) host.dispatcher.dispatch(request, call);
      else before.then(() => host.dispatcher.dispatch(request, call), (error: unknown) => call.refuse(GrpcStatus.INTERNAL, messageOf(error)));
    });
  }

  /** `pkg.Service` when registered under that name, else `Service` when that is, else the name as given. */
  #serviceName(name: string): string {
    const registry = this.#host.registry;
    if (registry.get(name) !== undefined) return name;
    const dot = name.lastIndexOf('.');
    if (dot >= 0 && registry.get(name.slice(dot + 1)) !== undefined) return name.slice(dot + 1);
    return name;
  }
}

/** Serialize type for a gRPC content type; undefined for anything that is not gRPC or not supported. */
function serializeTypeOf(contentType: string): number | undefined {
  if (contentType === 'application/grpc') return SerializeType.ProtoBuffer; // what nearly every client sends
  const semicolon = contentType.indexOf(';');
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (type === 'application/grpc' || type === 'application/grpc+proto') return SerializeType.ProtoBuffer;
  if (type === 'application/grpc+json') return SerializeType.JSON;
  return undefined;
}
