/**
 * Frames of rpcx-ts typed message streams (docs/streams.md). Every one is an ordinary rpcx frame whose seq is the
 * stream's id (the seq of its open request) and whose `__rpcx_stream` metadata says what it is:
 *
 *   client → server (requests; all but `open` are oneway)      server → client (responses)
 *   open    service.method, payload = args, credit = window    msg     one message
 *   msg     one message (within the server's credit)           credit  more messages the client may send
 *   end     no more messages from the client                   end     the stream is over (status Error: failed;
 *   cancel  the client gives up                                         payload: a client-streaming call's reply)
 *   credit  more messages the server may send
 */
import { MessageType, MetaKey } from './constants.js';
import { Message, type Metadata } from './message.js';

export const StreamFrame = {
  Open: 'open',
  Msg: 'msg',
  End: 'end',
  Cancel: 'cancel',
  Credit: 'credit',
} as const;
export type StreamFrame = (typeof StreamFrame)[keyof typeof StreamFrame];

/** Messages a receiver lets its peer send ahead of what it has consumed, unless the caller says otherwise. */
export const DEFAULT_STREAM_WINDOW = 64;
/** Largest window a peer may ask for. */
export const MAX_STREAM_WINDOW = 65_536;

/** Which way the messages of a streaming method flow. */
export type StreamKind = 'server' | 'client' | 'bidi';

/** A stream frame. Client frames are requests (oneway except `open`); server frames are responses. */
export function streamFrame(fromClient: boolean, seq: number, kind: StreamFrame, serializeType: number, payload?: Uint8Array, credit?: number): Message {
  const metadata: Metadata = { [MetaKey.Stream]: kind };
  if (credit !== undefined) metadata[MetaKey.StreamCredit] = String(credit);
  return new Message({
    type: fromClient ? MessageType.Request : MessageType.Response,
    oneway: fromClient && kind !== StreamFrame.Open,
    serializeType,
    seq,
    metadata,
    ...(payload ? { payload } : {}),
  });
}

/** The credit a frame carries, bounded; 0 when absent or malformed. */
export function frameCredit(message: Message, fallback = 0): number {
  const raw = message.metadata[MetaKey.StreamCredit];
  const n = raw === undefined ? fallback : Number(raw);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_STREAM_WINDOW) : fallback;
}
