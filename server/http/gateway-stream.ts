/**
 * Server-streaming methods through the HTTP gateway, answered as newline-delimited JSON the way gRPC-gateway answers
 * them: `Content-Type: application/x-ndjson`, one line `{"result": <message>}` per message as the method yields it,
 * and, when the method fails after the response has begun, a last line `{"error": {"code", "message"}}`. A failure
 * before the first line (auth, rate limit, preCall, an unknown method) is an ordinary gateway error response.
 *
 * The gateway opens the stream through the Dispatcher like an rpcx-ts client does (so auth, plugins, statistics and
 * tracing apply) and plays the client's part of the flow control: it hands back one credit per line the socket
 * accepted, or on `drain`, so a slow HTTP reader pauses the method within a window of messages. A client that goes
 * away (the response closes before the end) cancels the stream: the method's ctx.signal fires.
 */
import type http from 'node:http';
import { remoteError } from '../../errors.js';
import { CompressType, MetaKey, SerializeType } from '../../protocol/constants.js';
import type { Message } from '../../protocol/message.js';
import { StreamFrame, streamFrame } from '../../protocol/stream-frames.js';
import type { Dispatcher } from '../dispatcher.js';
import { GatewayHeader } from './constants.js';
import { HttpCallTarget, type HttpConnection, type HttpOutcome } from './http-connection.js';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';
/** Messages the method may run ahead of what the HTTP response has accepted. */
export const GATEWAY_STREAM_WINDOW = 16;

const RESULT_OPEN = Buffer.from('{"result":');
const RESULT_CLOSE = Buffer.from('}\n');

/** True when the gateway answers this call as newline-delimited JSON (a server-streaming method asked in JSON). */
export function streamsOverGateway(dispatcher: Dispatcher, request: Message): boolean {
  return !request.oneway && !request.heartbeat && request.serializeType === SerializeType.JSON && dispatcher.streamKindOf(request.servicePath, request.serviceMethod) === 'server';
}

/** A target whose stream frames go to `onFrame`; a plain reply (a refusal) settles the outcome as for any call. */
class HttpStreamTarget extends HttpCallTarget {
  readonly #onFrame: (frame: Message) => void;

  constructor(connection: HttpConnection, settle: (outcome: HttpOutcome) => void, onFrame: (frame: Message) => void) {
    super(connection, 'http', false, settle);
    this.#onFrame = onFrame;
  }

  override respond(reply: Message): void {
    if (reply.metadata[MetaKey.Stream] !== undefined) this.#onFrame(reply);
    else super.respond(reply);
  }
}

/**
 * Runs the stream and writes it to `res` (with `headers`, the gateway's echoed X-RPCX-* headers). Resolves with the
 * outcome when the call was refused before it streamed (the gateway answers that as usual), else undefined once the
 * response has ended.
 */
export function streamToResponse(dispatcher: Dispatcher, connection: HttpConnection, request: Message, res: http.ServerResponse, headers: Record<string, string>): Promise<HttpOutcome | undefined> {
  // The open: the gateway's window, and messages as plain JSON whatever the request's body compression was.
  request.metadata = { ...request.metadata, [MetaKey.Stream]: StreamFrame.Open, [MetaKey.StreamCredit]: String(GATEWAY_STREAM_WINDOW), [MetaKey.StreamCompress]: String(CompressType.None) };
  return new Promise((resolve) => {
    let started = false;
    let ended = false;
    const control = (kind: StreamFrame, credit?: number): void => dispatcher.dispatch(streamFrame(true, request.seq, kind, request.serializeType, undefined, credit), target);
    const grant = (): void => {
      if (!ended) control(StreamFrame.Credit, 1);
    };
    const target = new HttpStreamTarget(
      connection,
      (outcome) => {
        ended = true;
        resolve(outcome);
      },
      (frame) => {
        if (ended) return;
        if (!started) {
          started = true;
          res.writeHead(200, { ...headers, [GatewayHeader.MessageStatusType]: 'Normal', 'Content-Type': NDJSON_CONTENT_TYPE, 'Cache-Control': 'no-store' });
        }
        const kind = frame.metadata[MetaKey.Stream];
        if (kind === StreamFrame.Msg) {
          const written = res.write(Buffer.concat([RESULT_OPEN, frame.payload, RESULT_CLOSE]));
          if (written) grant();
          else res.once('drain', grant);
        } else if (kind === StreamFrame.End) {
          ended = true;
          if (frame.isError) {
            const text = frame.metadata[MetaKey.Error] ?? 'rpcx: stream failed';
            res.write(JSON.stringify({ error: { code: remoteError(text).code, message: text } }) + '\n');
          }
          res.end();
          resolve(undefined);
        }
      },
    );
    res.once('close', () => {
      if (ended) return;
      // The HTTP client went away mid-stream: stop the method.
      ended = true;
      if (started) control(StreamFrame.Cancel);
      resolve(undefined);
    });
    dispatcher.dispatch(request, target);
  });
}
