/**
 * The answering side of one gRPC stream: response headers once, messages, then the status in trailers, or, when
 * nothing was sent yet, a Trailers-Only response (status in the headers, stream ended). Whatever comes after the
 * status (a late reply after the deadline answered, say) is dropped.
 *
 * Only what gRPC needs goes out, since every header is work for the client too (the grpc-js client is the bottleneck
 * of a unary benchmark, bench/grpc-ceiling.ts): `:status` and `content-type`, no `date` (Node adds one per response
 * unless told not to), `grpc-accept-encoding` on the first response of a connection only (clients keep it per
 * channel), `grpc-message` only for a failure. The header objects of a reply without metadata are shared.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Metadata } from '../../protocol/message.js';
import { ACCEPT_ENCODING, frameMessage } from './framing.js';
import { addMetadataHeaders } from './metadata.js';
import { encodeGrpcMessage, GrpcStatus, type GrpcStatusCode } from './status.js';

const OK_TRAILERS = { 'grpc-status': '0' };
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false };
const RESPOND_AND_END = { endStream: true, sendDate: false };

/** Reply headers without metadata, per content type: with `grpc-accept-encoding` (first reply) and without. */
const sharedHeaders = new Map<string, { first: OutgoingHttpHeaders; next: OutgoingHttpHeaders }>();
const SHARED_HEADERS_LIMIT = 16;

function headersFor(contentType: string): { first: OutgoingHttpHeaders; next: OutgoingHttpHeaders } {
  let headers = sharedHeaders.get(contentType);
  if (headers === undefined) {
    headers = {
      first: { ':status': 200, 'content-type': contentType, 'grpc-accept-encoding': ACCEPT_ENCODING },
      next: { ':status': 200, 'content-type': contentType },
    };
    // Content types come from clients: only a few distinct ones (with parameters) are kept.
    if (sharedHeaders.size < SHARED_HEADERS_LIMIT) sharedHeaders.set(contentType, headers);
  }
  return headers;
}

/** A 'wantTrailers' listener shared by every unary reply (`this` is the stream). */
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

function isEmpty(metadata: Readonly<Metadata>): boolean {
  for (const key in metadata) if (Object.hasOwn(metadata, key)) return false;
  return true;
}

/** Where the responder learns whether its connection has announced `grpc-accept-encoding` yet. */
export interface EncodingAnnouncer {
  acceptEncodingSent: boolean;
}

export class GrpcResponder {
  readonly stream: ServerHttp2Stream;
  readonly contentType: string;
  readonly #connection: EncodingAnnouncer;
  #headersSent = false;
  #done = false;

  constructor(stream: ServerHttp2Stream, contentType: string, connection: EncodingAnnouncer) {
    this.stream = stream;
    this.contentType = contentType;
    this.#connection = connection;
  }

  /** The status went out (or the stream is gone): nothing more will be sent. */
  get done(): boolean {
    return this.#done || this.stream.destroyed || this.stream.closed;
  }

  /** The one reply of a unary call, then status OK. */
  unary(payload: Uint8Array, metadata?: Readonly<Metadata>): void {
    if (this.done) return;
    this.#done = true;
    const stream = this.stream;
    stream.respond(this.#headers(metadata), RESPOND_WITH_TRAILERS);
    // 'on', not 'once': a stream asks for its trailers once, and once() would wrap the listener per call.
    stream.on('wantTrailers', sendOkTrailers);
    stream.end(frameMessage(payload));
  }

  /** One message of a streamed reply. False when HTTP/2 flow control holds it back: wait for the stream's 'drain'. */
  send(payload: Uint8Array): boolean {
    if (this.done) return false;
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.stream.respond(this.#headers(undefined), RESPOND_WITH_TRAILERS);
    }
    return this.stream.write(frameMessage(payload));
  }

  /** Ends the call with `code`: in the trailers after messages, else as a Trailers-Only response. */
  finish(code: GrpcStatusCode, message?: string, metadata?: Readonly<Metadata>): void {
    if (this.done) return;
    this.#done = true;
    const stream = this.stream;
    const status: OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (message !== undefined && message !== '' && code !== GrpcStatus.OK) status['grpc-message'] = encodeGrpcMessage(message);
    addMetadataHeaders(status, metadata);
    if (this.#headersSent) {
      stream.once('wantTrailers', () => stream.sendTrailers(status));
      stream.end();
      return;
    }
    this.#headersSent = true;
    stream.respond({ ':status': 200, 'content-type': this.contentType, ...status }, RESPOND_AND_END);
  }

  #headers(metadata: Readonly<Metadata> | undefined): OutgoingHttpHeaders {
    const connection = this.#connection;
    const shared = headersFor(this.contentType);
    const headers = connection.acceptEncodingSent ? shared.next : shared.first;
    connection.acceptEncodingSent = true;
    return metadata === undefined || isEmpty(metadata) ? headers : addMetadataHeaders({ ...headers }, metadata);
  }
}
