/** A small HTTP(S) client for tests: exact status, headers and body bytes, optional CA and keep-alive agent. */
import http from 'node:http';
import https from 'node:https';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Trust this CA (https only). */
  ca?: string;
  agent?: http.Agent;
  timeoutMs?: number;
}

export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResult> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? Buffer.from(options.body) : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(
      target,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...options.headers },
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.agent ? { agent: options.agent } : {}),
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes, text: bytes.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url}: timed out`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** POSTs a JSON-RPC 2.0 body and parses the answer (undefined for an empty 204). */
export async function jsonRpc(url: string, payload: unknown, options: Omit<HttpRequestOptions, 'body'> = {}): Promise<{ status: number; json: unknown }> {
  const result = await httpRequest(url, {
    ...options,
    method: 'POST',
    headers: { 'X-JSONRPC-2.0': 'true', 'Content-Type': 'application/json', ...options.headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return { status: result.status, json: result.body.length ? JSON.parse(result.text) : undefined };
}
