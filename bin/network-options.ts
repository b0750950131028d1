/**
 * CLI flags → listen and dial options per network: `--tls-cert/--tls-key` (server TLS on tcp, reuseport and http;
 * required for wss, quic and wt), `--tls-ca`, `--insecure` and client `--tls-cert/--tls-key` (client side), `--kcp-key`
 * (KCP packet encryption with rpcx's key derivation; without it no encryption). A flag without its partner, a file
 * that cannot be read, or a flag no endpoint can use is a ConfigError naming the flag.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, parseEndpoint, type ClientOptions, type ListenOptions, type TlsOptions } from '../index.js';
import type { Flags } from './command.js';

export const serverNetworkFlags: Flags = {
  'tls-cert': { type: 'string', value: 'FILE', help: 'serve TLS with this certificate (PEM; with --tls-key) on tcp, reuseport, http, wss, quic, wt' },
  'tls-key': { type: 'string', value: 'FILE', help: 'the private key of --tls-cert (PEM)' },
  'tls-ca': { type: 'string', value: 'FILE', help: 'require client certificates signed by this CA (mutual TLS)' },
  'kcp-key': { type: 'string', value: 'PASSWORD', help: "encrypt kcp packets (AES, rpcx's key derivation)" },
};

export const clientNetworkFlags: Flags = {
  'tls-ca': { type: 'string', value: 'FILE', help: 'dial with TLS, trusting this CA (PEM)' },
  insecure: { type: 'boolean', help: 'dial with TLS without verifying the certificate (tests only)' },
  'tls-cert': { type: 'string', value: 'FILE', help: 'client certificate for mutual TLS (with --tls-key)' },
  'tls-key': { type: 'string', value: 'FILE', help: 'the private key of --tls-cert' },
  'kcp-key': { type: 'string', value: 'PASSWORD', help: 'kcp packet encryption key (as the server)' },
};

const TLS_NETWORKS = new Set(['tcp', 'reuseport', 'http', 'wss', 'quic', 'wt']);

function read(values: Record<string, unknown>, flag: string): string | undefined {
  const file = values[flag];
  if (typeof file !== 'string') return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--${flag}: cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function checkPair(values: Record<string, unknown>): void {
  const cert = values['tls-cert'] !== undefined;
  const key = values['tls-key'] !== undefined;
  if (cert && !key) throw new ConfigError('--tls-cert needs --tls-key');
  if (key && !cert) throw new ConfigError('--tls-key needs --tls-cert');
}

/** Checks the server flags against every endpoint that will be listened on. */
export function checkServerNetworkFlags(endpoints: string[], values: Record<string, unknown>): void {
  checkPair(values);
  const networks = endpoints.map((e) => parseEndpoint(e).network);
  if (values['tls-ca'] !== undefined && values['tls-cert'] === undefined) throw new ConfigError('--tls-ca (client certificates) needs --tls-cert and --tls-key');
  if (values['tls-cert'] !== undefined && !networks.some((n) => TLS_NETWORKS.has(n))) {
    throw new ConfigError(`--tls-cert: none of the listeners can serve TLS (${[...TLS_NETWORKS].join(', ')} can)`);
  }
  for (const n of networks) {
    if ((n === 'wss' || n === 'quic' || n === 'wt') && values['tls-cert'] === undefined) throw new ConfigError(`--listen ${n}@...: ${n} needs --tls-cert and --tls-key`);
  }
  if (values['kcp-key'] !== undefined && !networks.includes('kcp')) throw new ConfigError('--kcp-key: no kcp@ listener');
}

export function listenOptionsFor(endpoint: string, values: Record<string, unknown>): ListenOptions {
  const { network } = parseEndpoint(endpoint);
  const options: ListenOptions = {};
  const cert = read(values, 'tls-cert');
  const key = read(values, 'tls-key');
  if (cert && key && TLS_NETWORKS.has(network)) {
    const tls: TlsOptions = { cert, key };
    const ca = read(values, 'tls-ca');
    // A CA on the server side means: require client certificates signed by it (mutual TLS).
    if (ca) Object.assign(tls, { ca, requestCert: true });
    options.tls = tls;
  }
  if (network === 'kcp' && typeof values['kcp-key'] === 'string') options.kcpKey = values['kcp-key'];
  return options;
}

export function clientOptionsFor(endpoint: string, values: Record<string, unknown>): ClientOptions {
  checkPair(values);
  const { network } = parseEndpoint(endpoint);
  const options: ClientOptions = {};
  const tlsFlag = values['tls-ca'] !== undefined ? '--tls-ca' : values.insecure === true ? '--insecure' : values['tls-cert'] !== undefined ? '--tls-cert' : undefined;
  if (tlsFlag && !TLS_NETWORKS.has(network)) throw new ConfigError(`${tlsFlag}: ${network}@ does not use TLS (${[...TLS_NETWORKS].join(', ')} do)`);
  if (values['kcp-key'] !== undefined && network !== 'kcp') throw new ConfigError(`--kcp-key: ${network}@ is not kcp`);
  if (tlsFlag || network === 'wss' || network === 'quic' || network === 'wt') {
    const tls: TlsOptions = {};
    const ca = read(values, 'tls-ca');
    if (ca) tls.ca = ca;
    if (values.insecure === true) tls.insecure = true;
    const cert = read(values, 'tls-cert');
    const key = read(values, 'tls-key');
    if (cert && key) Object.assign(tls, { cert, key });
    options.tls = tls;
  }
  if (network === 'kcp' && typeof values['kcp-key'] === 'string') options.transport = { kcpKey: values['kcp-key'] };
  return options;
}
