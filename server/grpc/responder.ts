/**
 * The answering side of one gRPC stream: response headers once, messages, then the status in trailers, or, when
 * nothing was sent yet, a Trailers-Only response (status in the headers, stream ended). Whatever comes after the
 * status (a late reply after the deadline answered, say) is dropped.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Metadata } from '../../protocol/message.js';
import { ACCEPT_ENCODING, frameMessage } from './framing.js';
import { addMetadataHeaders } from './metadata.js';
import { encodeGrpcMessage, GrpcStatus, type GrpcStatusCode } from './status.js';

const OK_TRAILERS = { 'grpc-status': '0' };

/** A 'wantTrailers' listener shared by every unary reply (`this` is the stream). */
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

export class GrpcResponder {
  readonly stream: ServerHttp2Stream;
  readonly contentType: string;
  #headersSent = false;
  #done = false;

  constructor(stream: ServerHttp2Stream, contentType: string) {
    this.stream = stream;
    this.contentType = contentType;
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
    stream.respond(this.#headers(metadata), { waitForTrailers: true });
    stream.once('wantTrailers', sendOkTrailers);
    stream.end(frameMessage(payload));
  }

  /** One message of a streamed reply. False when HTTP/2 flow control holds it back: wait for the stream's 'drain'. */
  send(payload: Uint8Array): boolean {
    if (this.done) return false;
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.stream.respond(this.#headers(undefined), { waitForTrailers: true });
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
    stream.respond({ ':status': 200, 'content-type': this.contentType, ...status }, { endStream: true });
  }

  #headers(metadata: Readonly<Metadata> | undefined): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = { ':status': 200, 'content-type': this.contentType, 'grpc-accept-encoding': ACCEPT_ENCODING };
    return metadata === undefined ? headers : addMetadataHeaders(headers, metadata);
  }
}
