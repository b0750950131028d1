/**
 * JSON-RPC 2.0 over HTTP (requests carrying `X-JSONRPC-2.0: true`), as rpcx serves it: `method` is `Service.Method`
 * split at the last dot, `params` is the JSON argument, a request without `id` is a notification (run as a oneway
 * call; no answer), and an array is a batch. `X-RPCX-Meta` and `Authorization` become metadata as on the gateway.
 *
 * Errors are JSON-RPC error objects: -32700 unparsable body, -32600 not a valid request, -32601 unknown service or
 * method (with rpcx's text), -32602 params that are not an object/array or do not decode, -32603 a reply that cannot
 * be encoded, -32001 refused by the auth function (HTTP 401), and -32000 for every other service error, carrying
 * rpcx's error text as the message.
 */
import type http from 'node:http';
import { BodyTooLargeError, LimitExceededError, UNKNOWN_METHOD_PREFIX, UNKNOWN_SERVICE_PREFIX } from '../../errors.js';
import { MessageType, MetaKey, SerializeType } from '../../protocol/constants.js';
import { Message, type Metadata } from '../../protocol/message.js';
import { utf8Encode } from '../../protocol/utf8.js';
import { GatewayHeader, JsonRpcCode } from './constants.js';
import { readBody, send } from './helpers.js';
import { dispatchHttp, type FrontendHost, type HttpConnection } from './http-connection.js';

export { JsonRpcCode };

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

interface Answer {
  /** One serialized response object, or undefined for a notification. */
  text: string | undefined;
  unauthorized: boolean;
}

export async function handleJsonRpc(req: http.IncomingMessage, res: http.ServerResponse, connection: HttpConnection, host: FrontendHost): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    send(res, 405, { ...JSON_HEADERS, Allow: 'POST' }, errorText(null, JsonRpcCode.InvalidRequest, 'JSON-RPC requests must be POSTed'));
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(req, host.maxBodyLength);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      send(res, 413, { ...JSON_HEADERS, Connection: 'close' }, errorText(null, JsonRpcCode.InvalidRequest, error.message));
      return;
    }
    throw error;
  }
  // A batch past the limit is refused before JSON.parse: parsing (and holding) 100,000 entries would block the loop.
  if (batchLongerThan(body, host.limits.maxBatchLength)) {
    const error = new LimitExceededError('maxBatchLength', `a batch of more than ${host.limits.maxBatchLength} requests`);
    send(res, 200, JSON_HEADERS, errorText(null, JsonRpcCode.InvalidRequest, error.message));
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    send(res, 200, JSON_HEADERS, errorText(null, JsonRpcCode.ParseError, `Parse error: ${(error as Error).message}`));
    return;
  }

  const base = baseMetadata(req);
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) {
      send(res, 200, JSON_HEADERS, errorText(null, JsonRpcCode.InvalidRequest, 'Invalid Request: empty batch'));
      return;
    }
    if (parsed.length > host.limits.maxBatchLength) {
      // One error for the whole batch: none of it runs (running a part would leave the caller guessing which).
      const error = new LimitExceededError('maxBatchLength', `a batch of ${parsed.length} requests; at most ${host.limits.maxBatchLength}`);
      send(res, 200, JSON_HEADERS, errorText(null, JsonRpcCode.InvalidRequest, error.message));
      return;
    }
    const answers = await Promise.all(parsed.map((item) => handleOne(item, base, connection, host)));
    const texts = answers.map((a) => a.text).filter((t): t is string => t !== undefined);
    const status = answers.some((a) => a.unauthorized) ? 401 : 200;
    if (texts.length === 0) send(res, status === 200 ? 204 : status, {});
    else send(res, status, JSON_HEADERS, `[${texts.join(',')}]`);
    return;
  }
  const answer = await handleOne(parsed, base, connection, host);
  const status = answer.unauthorized ? 401 : 200;
  if (answer.text === undefined) send(res, status === 200 ? 204 : status, {});
  else send(res, status, JSON_HEADERS, answer.text);
}

async function handleOne(item: unknown, base: Metadata | undefined, connection: HttpConnection, host: FrontendHost): Promise<Answer> {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return { text: errorText(null, JsonRpcCode.InvalidRequest, 'Invalid Request: not an object'), unauthorized: false };
  }
  const call = item as Record<string, unknown>;
  const hasId = Object.hasOwn(call, 'id');
  const id = call.id;
  if (hasId && id !== null && typeof id !== 'string' && typeof id !== 'number') {
    return { text: errorText(null, JsonRpcCode.InvalidRequest, 'Invalid Request: id must be a string, a number or null'), unauthorized: false };
  }
  const replyId = hasId ? (id as string | number | null) : null;
  const answer = (code: number, message: string): Answer => ({ text: hasId ? errorText(replyId, code, message) : undefined, unauthorized: false });
  // Not a valid Request object: answered even without an id (it cannot be told to be a notification).
  const invalid = (message: string): Answer => ({ text: errorText(replyId, JsonRpcCode.InvalidRequest, message), unauthorized: false });
  if (call.jsonrpc !== '2.0') return invalid('Invalid Request: jsonrpc must be "2.0"');
  if (typeof call.method !== 'string') return invalid('Invalid Request: method must be a string');
  const params = call.params;
  if (Object.hasOwn(call, 'params') && (params === null || typeof params !== 'object')) {
    return answer(JsonRpcCode.InvalidParams, 'Invalid params: params must be an object or an array');
  }
  const method = call.method;
  const dot = method.lastIndexOf('.');
  if (dot <= 0 || dot === method.length - 1) return answer(JsonRpcCode.MethodNotFound, 'Method not found: the method must be Service.Method');

  const request = new Message({
    type: MessageType.Request,
    oneway: !hasId,
    serializeType: SerializeType.JSON,
    servicePath: method.slice(0, dot),
    serviceMethod: method.slice(dot + 1),
    payload: utf8Encode(JSON.stringify(params ?? null)),
    ...(base ? { metadata: { ...base } } : {}),
  });
  const outcome = await dispatchHttp(host.dispatcher, connection, request, 'jsonrpc');
  switch (outcome.kind) {
    case 'unauthorized':
      return { text: hasId ? errorText(replyId, JsonRpcCode.Unauthorized, outcome.text) : undefined, unauthorized: true };
    case 'accepted':
      return { text: undefined, unauthorized: false };
    case 'oneway-failed':
      return answer(codeFor(outcome.text), outcome.text);
    case 'reply': {
      const reply = outcome.reply;
      if (reply.isError) {
        const text = reply.metadata[MetaKey.Error] ?? 'rpcx: unknown error';
        return answer(codeFor(text), text);
      }
      const result = reply.payload.length === 0 ? 'null' : Buffer.from(reply.payload.buffer, reply.payload.byteOffset, reply.payload.byteLength).toString('utf8');
      return { text: `{"jsonrpc":"2.0","result":${result},"id":${JSON.stringify(replyId)}}`, unauthorized: false };
    }
  }
}

/** The JSON-RPC code for an rpcx error text. */
function codeFor(text: string): number {
  if (text.startsWith(UNKNOWN_SERVICE_PREFIX) || text.startsWith(UNKNOWN_METHOD_PREFIX)) return JsonRpcCode.MethodNotFound;
  if (text.startsWith('rpcx: json decode failed')) return JsonRpcCode.InvalidParams;
  if (text.startsWith('rpcx: json encode failed')) return JsonRpcCode.InternalError;
  return JsonRpcCode.ServerError;
}

function errorText(id: string | number | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id });
}

function baseMetadata(req: http.IncomingMessage): Metadata | undefined {
  let metadata: Metadata | undefined;
  const meta = req.headers[GatewayHeader.Meta.toLowerCase()];
  if (typeof meta === 'string' && meta !== '') {
    metadata = {};
    for (const [key, value] of new URLSearchParams(meta)) {
      if (key !== '__proto__' && !Object.hasOwn(metadata, key)) metadata[key] = value;
    }
  }
  const authorization = req.headers.authorization;
  if (authorization) (metadata ??= {})[MetaKey.Auth] = authorization;
  return metadata;
}

/**
 * True when `body` is a JSON array with more than `limit` top-level entries. Scans only as far as the entry past the
 * limit (strings and nesting are skipped correctly); malformed JSON is left to JSON.parse.
 */
function batchLongerThan(body: Buffer, limit: number): boolean {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x5b) return false; // not '['
  let depth = 0;
  let entries = 0;
  let inString = false;
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      // The first byte of a top-level entry that is an array or object.
      if (depth === 2 && ++entries > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (depth === 1 && c !== 0x2c && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
      // A scalar top-level entry: count it at its first byte, then skip to the next separator.
      if (++entries > limit) return true;
      while (i + 1 < body.length && body[i + 1] !== 0x2c && body[i + 1] !== 0x5d) i++;
    }
    if (depth === 0) return false;
  }
  return false;
}
