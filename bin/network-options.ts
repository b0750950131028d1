/**
 * CLI flags → listen and dial options per network: `--tls-cert/--tls-key` (server TLS on tcp, reuseport and http;
 * required for wss, quic and wt), `--tls-ca`, `--insecure` and client `--tls-cert/--tls-key` (client side), `--kcp-key`
 * (KCP packet encryption with rpcx's key derivation; without it no encryption).
 */
import { readFileSync } from 'node:fs';
import type { ClientOptions, ListenOptions, TlsOptions } from '../index.js';
import { parseEndpoint } from '../index.js';

/** The flags every command understands. */
export const networkFlags = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  insecure: { type: 'boolean' },
  'kcp-key': { type: 'string' },
} as const;

const TLS_NETWORKS = new Set(['tcp', 'reuseport', 'http', 'wss', 'quic', 'wt']);

function read(file: unknown): string | undefined {
  return typeof file === 'string' ? readFileSync(file, 'utf8') : undefined;
}

export function listenOptionsFor(endpoint: string, values: Record<string, unknown>): ListenOptions {
  const { network } = parseEndpoint(endpoint);
  const options: ListenOptions = {};
  const cert = read(values['tls-cert']);
  const key = read(values['tls-key']);
  if (cert && key && TLS_NETWORKS.has(network)) {
    const tls: TlsOptions = { cert, key };
    const ca = read(values['tls-ca']);
    // A CA on the server side means: require client certificates signed by it (mutual TLS).
    if (ca) Object.assign(tls, { ca, requestCert: true });
    options.tls = tls;
  }
  if (network === 'kcp' && typeof values['kcp-key'] === 'string') options.kcpKey = values['kcp-key'];
  return options;
}

export function clientOptionsFor(endpoint: string, values: Record<string, unknown>): ClientOptions {
  const { network } = parseEndpoint(endpoint);
  const options: ClientOptions = {};
  const wantsTls = values['tls-ca'] !== undefined || values.insecure === true || network === 'wss' || network === 'quic' || network === 'wt';
  if (wantsTls && TLS_NETWORKS.has(network)) {
    const tls: TlsOptions = {};
    const ca = read(values['tls-ca']);
    if (ca) tls.ca = ca;
    if (values.insecure === true) tls.insecure = true;
    const cert = read(values['tls-cert']);
    const key = read(values['tls-key']);
    if (cert && key) Object.assign(tls, { cert, key });
    options.tls = tls;
  }
  if (network === 'kcp' && typeof values['kcp-key'] === 'string') options.transport = { kcpKey: values['kcp-key'] };
  return options;
}
