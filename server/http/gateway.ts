/**
 * The rpcx HTTP gateway: any HTTP request (not JSON-RPC, not a builtin page) is an rpcx call described by headers.
 *
 *   X-RPCX-SerializeType   required, decimal (0 raw, 1 JSON, 2 protobuf, 3 msgpack)
 *   X-RPCX-ServiceMethod   required
 *   X-RPCX-ServicePath     else the URL path without its leading slash
 *   X-RPCX-MessageID       decimal sequence number, echoed back
 *   X-RPCX-Meta            metadata as a URL query string
 *   X-RPCX-Oneway / X-RPCX-Heartbeat / X-RPCX-CompressType
 *   Authorization          becomes `__AUTH`
 *   body                   the serialized argument
 *
 * The answer mirrors rpcx's gateway: the serialized reply as body, `X-RPCX-MessageStatusType: Normal` (or `Error` with
 * `X-RPCX-ErrorMessage`), the request's X-RPCX-Version/MessageID/ServicePath/ServiceMethod/SerializeType echoed and
 * the reply metadata query-encoded in `X-RPCX-Meta`. Missing or bad headers: 400; auth refused: 401; rate limited:
 * 429; shutting down: 503; any other service error: 500.
 */
import type http from 'node:http';
import { hasCodec } from '../../codec/codec.js';
import { BodyTooLargeError, RATE_LIMIT_TEXT, SHUTTING_DOWN_TEXT } from '../../errors.js';
import { CompressType, MessageType, MetaKey, SerializeType } from '../../protocol/constants.js';
import { Message, type Metadata } from '../../protocol/message.js';
import { pathOf, readBody, send } from './helpers.js';
import { GatewayHeader } from './constants.js';
import { dispatchHttp, type FrontendHost, type HttpConnection } from './http-connection.js';

export { GatewayHeader };

const CONTENT_TYPES: Record<number, string> = {
  [SerializeType.None]: 'application/octet-stream',
  [SerializeType.JSON]: 'application/json',
  [SerializeType.ProtoBuffer]: 'application/x-protobuf',
  [SerializeType.MsgPack]: 'application/x-msgpack',
};

export async function handleGateway(req: http.IncomingMessage, res: http.ServerResponse, connection: HttpConnection, host: FrontendHost): Promise<void> {
  const header = (name: string): string => {
    const value = req.headers[name.toLowerCase()];
    return (Array.isArray(value) ? value[0] : value) ?? '';
  };
  let servicePath = header(GatewayHeader.ServicePath);
  if (servicePath === '') {
    try {
      servicePath = decodeURIComponent(pathOf(req.url).replace(/^\/+/, ''));
    } catch {
      servicePath = '';
    }
  }
  const serviceMethod = header(GatewayHeader.ServiceMethod);
  const serializeText = header(GatewayHeader.SerializeType);
  const messageId = header(GatewayHeader.MessageID);

  // Echoed as rpcx's gateway does.
  const out: Record<string, string> = {};
  const echo = (name: string, value: string): void => {
    if (value !== '') out[name] = headerSafe(value);
  };
  echo(GatewayHeader.Version, header(GatewayHeader.Version));
  echo(GatewayHeader.MessageID, messageId);
  echo(GatewayHeader.ServicePath, servicePath);
  echo(GatewayHeader.ServiceMethod, serviceMethod);
  echo(GatewayHeader.SerializeType, serializeText);

  const badRequest = (text: string): void => {
    for (const name in req.headers) {
      const value = req.headers[name];
      if (name.startsWith('x-rpcx-') && typeof value === 'string' && !(canonical(name) in out)) out[canonical(name)] = headerSafe(value);
    }
    out[GatewayHeader.MessageStatusType] = 'Error';
    out[GatewayHeader.ErrorMessage] = headerSafe(text);
    req.resume();
    send(res, 400, { ...out, 'Content-Type': 'text/plain; charset=utf-8' }, text + '\n');
  };

  const heartbeat = header(GatewayHeader.Heartbeat) !== '';
  if (!heartbeat) {
    if (servicePath === '') return badRequest('empty servicepath');
    if (serviceMethod === '') return badRequest('empty servicemethod');
  }
  if (serializeText === '') return badRequest('empty serialized type');
  const serializeType = Number(serializeText);
  if (!/^\d+$/.test(serializeText) || serializeType > 15 || !hasCodec(serializeType)) return badRequest(`rpcx: unsupported serialize type ${serializeText}`);
  let seq = 0;
  if (messageId !== '') {
    if (!/^\d{1,16}$/.test(messageId) || !Number.isSafeInteger(Number(messageId))) return badRequest(`rpcx: bad message id ${messageId}`);
    seq = Number(messageId);
  }
  let compressType: number = CompressType.None;
  const compressText = header(GatewayHeader.CompressType);
  if (compressText !== '') {
    compressType = Number(compressText);
    if (!/^\d$/.test(compressText) || compressType > 7) return badRequest(`rpcx: unsupported compress type ${compressText}`);
  }

  let metadata: Metadata | undefined;
  const meta = header(GatewayHeader.Meta);
  if (meta !== '') {
    metadata = {};
    for (const [key, value] of new URLSearchParams(meta)) if (!Object.hasOwn(metadata, key)) setMeta(metadata, key, value); // the first value, as rpcx
  }
  const authorization = header('Authorization');
  if (authorization !== '') (metadata ??= {})[MetaKey.Auth] = authorization;

  let body: Buffer;
  try {
    body = await readBody(req, host.maxBodyLength);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      out[GatewayHeader.MessageStatusType] = 'Error';
      out[GatewayHeader.ErrorMessage] = error.message;
      send(res, 413, { ...out, Connection: 'close' });
      return;
    }
    throw error;
  }

  const request = new Message({
    type: MessageType.Request,
    heartbeat,
    oneway: header(GatewayHeader.Oneway) !== '',
    compressType,
    serializeType,
    seq,
    servicePath,
    serviceMethod,
    payload: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    ...(metadata ? { metadata } : {}),
  });
  const outcome = await dispatchHttp(host.dispatcher, connection, request, 'http');
  const fail = (status: number, text: string): void => {
    out[GatewayHeader.MessageStatusType] = 'Error';
    out[GatewayHeader.ErrorMessage] = headerSafe(text);
    send(res, status, { ...out, 'Content-Type': 'text/plain; charset=utf-8' }, text + '\n');
  };
  switch (outcome.kind) {
    case 'unauthorized':
      return fail(401, outcome.text);
    case 'oneway-failed':
      return fail(statusFor(outcome.text), outcome.text);
    case 'accepted':
      out[GatewayHeader.MessageStatusType] = 'Normal';
      send(res, 200, out);
      return;
    case 'reply': {
      const reply = outcome.reply;
      if (reply.isError) return fail(statusFor(reply.metadata[MetaKey.Error] ?? ''), reply.metadata[MetaKey.Error] ?? 'rpcx: unknown error');
      out[GatewayHeader.MessageStatusType] = 'Normal';
      const replyMeta = new URLSearchParams();
      for (const key in reply.metadata) replyMeta.append(key, reply.metadata[key]!);
      const encoded = replyMeta.toString();
      if (encoded !== '') out[GatewayHeader.Meta] = encoded;
      if (reply.compressType !== CompressType.None) out[GatewayHeader.CompressType] = String(reply.compressType);
      out['Content-Type'] = CONTENT_TYPES[serializeType] ?? 'application/octet-stream';
      send(res, 200, out, reply.payload);
    }
  }
}

function statusFor(text: string): number {
  if (text === RATE_LIMIT_TEXT) return 429;
  if (text === SHUTTING_DOWN_TEXT) return 503;
  return 500;
}

/** `x-rpcx-messageid` → `X-RPCX-MessageID` for the headers rpcx names, else a plain title case. */
function canonical(lower: string): string {
  for (const name of Object.values(GatewayHeader)) if (name.toLowerCase() === lower) return name;
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()).replace(/^X-Rpcx-/, 'X-RPCX-');
}

/** Header values must be visible ASCII; anything else is percent-encoded. */
function headerSafe(text: string): string {
  return /^[\x20-\x7e\t]*$/.test(text) ? text : text.replace(/[^\x20-\x7e\t]/gu, (c) => encodeURIComponent(c));
}

function setMeta(metadata: Metadata, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  else metadata[key] = value;
}
