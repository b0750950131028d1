/** Small HTTP helpers shared by the router, the gateway, JSON-RPC and the pages. */
import type http from 'node:http';
import { BodyTooLargeError } from '../../errors.js';

/** Reads a request body up to `limit` bytes; rejects with `BodyTooLargeError` past it. */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new BodyTooLargeError(limit));
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        req.removeAllListeners('data');
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    req.once('error', reject);
  });
}

/** Writes a complete response with a body. */
export function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array = ''): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers }, JSON.stringify(value));
}

export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** True when the request carries an rpcx gateway header (`X-RPCX-*`). */
export function hasRpcxHeader(req: http.IncomingMessage): boolean {
  for (const name in req.headers) if (name.startsWith('x-rpcx-')) return true;
  return false;
}
