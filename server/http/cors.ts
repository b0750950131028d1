/**
 * Cross-origin access to the HTTP gateway and JSON-RPC, as rpcx's `SetCORS` (rs/cors) offers it: pages served from
 * another origin may call the server with `fetch` when their origin, method and headers are allowed.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here: 204 with the
 *   `Access-Control-Allow-*` headers when origin, method and every requested header are allowed; 403 with the reason
 *   otherwise (the browser then refuses the call).
 * - An actual request from an allowed origin gets `Access-Control-Allow-Origin` (and `-Credentials`,
 *   `-Expose-Headers`); one from another origin is still served, but without them, so the browser hides the answer.
 * - Requests without `Origin` (not from a browser page, or same-origin GETs) are left alone.
 *
 * Origins, methods and headers match case-insensitively (origins exactly); `'*'` allows any, and a header pattern
 * ending in `*` allows a prefix (`X-RPCX-*`).
 */
import type http from 'node:http';
import { ConfigError } from '../../errors.js';
import { GatewayHeader } from './constants.js';
import { send } from './helpers.js';

export interface CorsOptions {
  /** Origins allowed, e.g. `https://app.example.com`; `'*'` for any; or a predicate (default `['*']`). */
  allowedOrigins?: string[] | ((origin: string) => boolean);
  /** Methods allowed (default `['GET', 'POST', 'HEAD']`, as rs/cors). */
  allowedMethods?: string[];
  /**
   * Request headers allowed (default: `Accept`, `Content-Type`, `X-Requested-With`, `Authorization`,
   * `X-JSONRPC-2.0` and `X-RPCX-*`, what the gateway and JSON-RPC read).
   */
  allowedHeaders?: string[];
  /** Response headers a page may read (default: the gateway's `X-RPCX-*` answer headers). */
  exposedHeaders?: string[];
  /** Allow cookies and HTTP authentication (`Access-Control-Allow-Credentials: true`; default false). */
  allowCredentials?: boolean;
  /** How long a browser may cache a preflight answer, in seconds (default 0: not sent). */
  maxAgeSeconds?: number;
}

/** Everything allowed, as rpcx's `AllowAllCORSOptions`. */
export function allowAllCors(): CorsOptions {
  return { allowedOrigins: ['*'], allowedMethods: ['HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowedHeaders: ['*'] };
}

const DEFAULT_HEADERS = ['Accept', 'Content-Type', 'X-Requested-With', 'Authorization', 'X-JSONRPC-2.0', 'X-RPCX-*'];

/** CORS options resolved once, checked per request. */
export class CorsPolicy {
  readonly #origin: (origin: string) => boolean;
  readonly #anyOrigin: boolean;
  readonly #methods: Set<string>;
  readonly #headers: (name: string) => boolean;
  readonly #exposed: string;
  readonly #credentials: boolean;
  readonly #maxAge: number;

  constructor(options: CorsOptions) {
    const origins = options.allowedOrigins ?? ['*'];
    if (typeof origins === 'function') {
      this.#origin = origins;
      this.#anyOrigin = false;
    } else {
      if (!Array.isArray(origins)) throw new ConfigError('rpcx: cors.allowedOrigins must be an array of origins or a function');
      const exact = new Set(origins.map((o) => o.toLowerCase()));
      this.#anyOrigin = exact.has('*');
      this.#origin = (origin) => this.#anyOrigin || exact.has(origin.toLowerCase());
    }
    this.#methods = new Set((options.allowedMethods ?? ['GET', 'POST', 'HEAD']).map((m) => m.toUpperCase()));
    const patterns = (options.allowedHeaders ?? DEFAULT_HEADERS).map((h) => h.toLowerCase());
    this.#headers = (name) => patterns.some((p) => p === '*' || p === name || (p.endsWith('*') && name.startsWith(p.slice(0, -1))));
    this.#exposed = (options.exposedHeaders ?? Object.values(GatewayHeader)).join(', ');
    this.#credentials = options.allowCredentials === true;
    this.#maxAge = options.maxAgeSeconds ?? 0;
    if (!Number.isInteger(this.#maxAge) || this.#maxAge < 0) throw new ConfigError('rpcx: cors.maxAgeSeconds must be a whole number >= 0');
  }

  static isPreflight(req: http.IncomingMessage): boolean {
    return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
  }

  /** Answers a preflight request completely. */
  preflight(req: http.IncomingMessage, res: http.ServerResponse): void {
    const origin = req.headers.origin!;
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    const requested = String(req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const vary = { Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
    const refuse = (why: string): void => {
      req.resume();
      send(res, 403, { ...vary, 'Content-Type': 'text/plain; charset=utf-8' }, `CORS preflight refused: ${why}\n`);
    };
    if (!this.#origin(origin)) return refuse(`origin ${origin} is not allowed`);
    if (!this.#methods.has(method)) return refuse(`method ${method} is not allowed`);
    const denied = requested.filter((h) => !this.#headers(h));
    if (denied.length > 0) return refuse(`header ${denied.join(', ')} not allowed`);
    const headers: Record<string, string> = {
      ...vary,
      'Access-Control-Allow-Origin': this.#allowOriginValue(origin),
      'Access-Control-Allow-Methods': method,
    };
    if (requested.length > 0) headers['Access-Control-Allow-Headers'] = requested.join(', ');
    if (this.#credentials) headers['Access-Control-Allow-Credentials'] = 'true';
    if (this.#maxAge > 0) headers['Access-Control-Max-Age'] = String(this.#maxAge);
    req.resume();
    send(res, 204, headers);
  }

  /** Adds the CORS headers an actual request from an allowed origin gets (before the handler answers). */
  decorate(req: http.IncomingMessage, res: http.ServerResponse): void {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    res.setHeader('Vary', 'Origin');
    if (!this.#origin(origin) || !this.#methods.has(req.method ?? 'GET')) return;
    res.setHeader('Access-Control-Allow-Origin', this.#allowOriginValue(origin));
    if (this.#credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (this.#exposed !== '') res.setHeader('Access-Control-Expose-Headers', this.#exposed);
  }

  /** `*` when any origin is allowed and no credentials are involved; the request's origin otherwise. */
  #allowOriginValue(origin: string): string {
    return this.#anyOrigin && !this.#credentials ? '*' : origin;
  }
}
