/**
 * quiche configurations built from our `TlsOptions` and the QUIC settings (`options.quic`).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../../errors.js';
import type { TlsOptions } from '../transport.js';
import { quiche, type NativeConfig } from './native.js';

/** rpcx's ALPN protocol for QUIC. */
export const RPCX_ALPN = 'rpcx';

/** QUIC tuning, passed as `options.quic` to listen or dial. Every field is optional. */
export interface QuicSettings {
  /** Close the connection after this long without any packet (ms, default 30000, as quic-go). 0 disables. */
  idleTimeoutMs?: number;
  /** Send a PING when nothing was sent for this long (ms). Default: a third of the idle timeout. 0 disables. */
  keepAliveMs?: number;
  /** Largest UDP payload we send (default 1350, safe on the internet; up to 1452 for Ethernet paths). */
  maxDatagramSize?: number;
  /**
   * Largest UDP payload we send to a loopback address (default 16384). The loopback interface's MTU is 64 KiB, so
   * nothing is fragmented, and every datagram costs a system call: where quic-go sends a batch of packets with one
   * GSO `sendmsg`, Node's dgram has no batching, so larger datagrams are how a turn's packets leave in few calls.
   */
  loopbackDatagramSize?: number;
  /** Initial per-stream flow-control window (bytes, default 1 MiB); quiche grows it up to `maxStreamWindow`. */
  streamWindow?: number;
  /** Initial connection flow-control window (bytes, default 4 MiB); grows up to `maxConnectionWindow`. */
  connectionWindow?: number;
  maxStreamWindow?: number;
  maxConnectionWindow?: number;
  /** Congestion control: `cubic` (default, as quic-go), `reno` or `bbr` (the algorithms the bundled quiche has). */
  congestionControl?: string;
  /** write() returns false once this many bytes wait in our buffer beyond what quiche accepted (default 1 MiB). */
  highWaterMark?: number;
  /** Server: answer new connections with a stateless retry first (validates the client address; costs one RTT). */
  retry?: boolean;
  /** Milliseconds end() waits for the peer to finish its side before closing the connection anyway (default 5000). */
  lingerMs?: number;
}

export interface ResolvedSettings {
  idleTimeoutMs: number;
  keepAliveMs: number;
  maxDatagramSize: number;
  loopbackDatagramSize: number;
  streamWindow: number;
  connectionWindow: number;
  maxStreamWindow: number;
  maxConnectionWindow: number;
  congestionControl: string;
  highWaterMark: number;
  retry: boolean;
  lingerMs: number;
}

/** `highWaterMark`: the generic ListenOptions/DialOptions one, used when `quic.highWaterMark` is not set. */
export function resolveSettings(raw: unknown, highWaterMark?: number): ResolvedSettings {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) throw new ConfigError('rpcx: options.quic must be an object');
  const s = (raw ?? {}) as QuicSettings;
  const num = (name: keyof QuicSettings, value: unknown, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new ConfigError(`rpcx: quic.${name} must be a number between ${min} and ${max}`);
    }
    return Math.floor(value);
  };
  const binding = quiche();
  const idleTimeoutMs = num('idleTimeoutMs', s.idleTimeoutMs, 30_000, 0, 2 ** 31);
  const maxStreamWindow = num('maxStreamWindow', s.maxStreamWindow, binding.MAX_STREAM_WINDOW, 1024, 2 ** 40);
  const maxConnectionWindow = num('maxConnectionWindow', s.maxConnectionWindow, binding.MAX_CONNECTION_WINDOW, 1024, 2 ** 40);
  const cc = s.congestionControl ?? 'cubic';
  if (!['cubic', 'reno', 'bbr'].includes(cc)) throw new ConfigError(`rpcx: unknown quic.congestionControl "${cc}"`);
  return {
    idleTimeoutMs,
    keepAliveMs: num('keepAliveMs', s.keepAliveMs, Math.floor(idleTimeoutMs / 3), 0, 2 ** 31),
    maxDatagramSize: num('maxDatagramSize', s.maxDatagramSize, 1350, 1200, 65527),
    loopbackDatagramSize: num('loopbackDatagramSize', s.loopbackDatagramSize, 16 * 1024, 1200, 65527),
    streamWindow: num('streamWindow', s.streamWindow, 1024 * 1024, 1024, maxStreamWindow),
    connectionWindow: num('connectionWindow', s.connectionWindow, 4 * 1024 * 1024, 1024, maxConnectionWindow),
    maxStreamWindow,
    maxConnectionWindow,
    congestionControl: cc,
    highWaterMark: num('highWaterMark', s.highWaterMark ?? highWaterMark, 1024 * 1024, 1, 2 ** 40),
    retry: s.retry === true,
    lingerMs: num('lingerMs', s.lingerMs, 5000, 0, 2 ** 31),
  };
}

type PemInput = string | Buffer | Uint8Array;

function pemText(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  throw new ConfigError(`rpcx: quic needs ${what} as PEM text or a Buffer holding PEM`);
}

function list<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

function isPem(text: string, label: string): boolean {
  return text.includes(`-----BEGIN ${label}`);
}

/** Private keys as PEM, decrypted with the passphrase when they are encrypted (quiche cannot decrypt). */
function keyPems(tls: TlsOptions): string[] {
  return list(tls.key as PemInput | KeyObject | { pem: PemInput; passphrase?: string } | undefined).map((entry) => {
    let pem: unknown = entry;
    let passphrase = tls.passphrase;
    if (entry && typeof entry === 'object' && 'pem' in entry) {
      pem = entry.pem;
      passphrase = entry.passphrase ?? passphrase;
    }
    if (pem && typeof pem === 'object' && 'export' in pem && typeof (pem as KeyObject).export === 'function') {
      return (pem as KeyObject).export({ format: 'pem', type: 'pkcs8' }).toString();
    }
    const text = pemText(pem, 'the private key');
    if (!isPem(text, '')) throw new ConfigError('rpcx: quic needs the private key in PEM form');
    if (isPem(text, 'ENCRYPTED PRIVATE KEY') || text.includes('Proc-Type: 4,ENCRYPTED') || passphrase !== undefined) {
      try {
        return createPrivateKey({ key: text, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) })
          .export({ format: 'pem', type: 'pkcs8' })
          .toString();
      } catch (error) {
        throw new ConfigError(`rpcx: cannot read the quic private key: ${(error as Error).message}`);
      }
    }
    return text;
  });
}

function certPems(tls: TlsOptions): string[] {
  return list(tls.cert as PemInput | PemInput[] | undefined).map((entry) => {
    const text = pemText(entry, 'the certificate');
    if (!isPem(text, 'CERTIFICATE')) throw new ConfigError('rpcx: quic needs the certificate in PEM form');
    return text;
  });
}

function caPem(tls: TlsOptions): string | undefined {
  const entries = list(tls.ca as PemInput | PemInput[] | undefined).map((entry) => pemText(entry, 'the CA certificates'));
  if (entries.length === 0) return undefined;
  for (const text of entries) if (!isPem(text, 'CERTIFICATE')) throw new ConfigError('rpcx: quic needs CA certificates in PEM form');
  return entries.map((text) => (text.endsWith('\n') ? text : `${text}\n`)).join('');
}

export type Role = 'client' | 'server';

export interface BuiltConfig {
  config: NativeConfig;
  /** Whether the peer's certificate is verified. */
  verifyPeer: boolean;
  alpn: string[];
  /** Largest UDP payload sent with this config. */
  datagramSize: number;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x: the path is the loopback interface. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/** The datagram size for a peer at `ip`. */
export function datagramSizeFor(settings: ResolvedSettings, ip: string): number {
  return isLoopback(ip) ? settings.loopbackDatagramSize : settings.maxDatagramSize;
}

/**
 * Builds a quiche config sending datagrams of up to `datagramSize` bytes. Throws ConfigError for settings quiche cannot
 * honour (pfx, a key without a cert, ...).
 */
export function buildConfig(role: Role, tls: TlsOptions | undefined, settings: ResolvedSettings, datagramSize = settings.maxDatagramSize): BuiltConfig {
  const options: TlsOptions = tls ?? {};
  if (options.pfx !== undefined) throw new ConfigError('rpcx: quic does not read pfx; give cert and key as PEM');
  const keys = keyPems(options);
  const certs = certPems(options);
  if (keys.length !== certs.length) {
    throw new ConfigError(
      keys.length === 0 || certs.length === 0
        ? 'rpcx: quic needs both tls.cert and tls.key (or neither, on a client without a client certificate)'
        : 'rpcx: quic needs one tls.key per tls.cert chain',
    );
  }
  if (role === 'server' && keys.length === 0) {
    throw new ConfigError('rpcx: the quic network requires TLS: listen options need tls.cert and tls.key');
  }
  const verifyPeer = role === 'client' ? options.insecure !== true : options.requestCert === true;
  // Verifying without a CA means verifying against the same public roots Node's TLS uses by default.
  const ca = caPem(options) ?? (verifyPeer ? rootCertificates.join('\n') + '\n' : undefined);
  const alpn = options.alpn && options.alpn.length > 0 ? [...options.alpn] : [RPCX_ALPN];
  for (const proto of alpn) {
    if (proto.length === 0 || Buffer.byteLength(proto) > 255) throw new ConfigError(`rpcx: bad ALPN protocol "${proto}"`);
  }

  const encode = (text: string): Uint8Array => Buffer.from(text, 'utf8');
  let config: NativeConfig;
  try {
    config = quiche().Config.withBoringSslCtx(
      verifyPeer,
      false,
      ca !== undefined ? encode(ca) : null,
      keys.length ? keys.map(encode) : null,
      certs.length ? certs.map(encode) : null,
      null,
    );
  } catch (error) {
    throw new ConfigError(`rpcx: bad quic TLS settings: ${(error as Error).message}`);
  }
  config.verifyPeer(verifyPeer);
  config.grease(true);
  config.setApplicationProtos(alpn);
  config.setMaxIdleTimeout(settings.idleTimeoutMs);
  config.setMaxSendUdpPayloadSize(datagramSize);
  config.setInitialMaxData(settings.connectionWindow);
  config.setInitialMaxStreamDataBidiLocal(settings.streamWindow);
  config.setInitialMaxStreamDataBidiRemote(settings.streamWindow);
  config.setInitialMaxStreamDataUni(0);
  // rpcx speaks on one bidirectional stream that the client opens; the server opens none.
  config.setInitialMaxStreamsBidi(role === 'server' ? 1 : 0);
  config.setInitialMaxStreamsUni(0);
  config.setMaxStreamWindow(settings.maxStreamWindow);
  config.setMaxConnectionWindow(settings.maxConnectionWindow);
  config.setDisableActiveMigration(true);
  try {
    config.setCcAlgorithmName(settings.congestionControl);
  } catch (error) {
    throw new ConfigError(`rpcx: quic congestion control "${settings.congestionControl}": ${(error as Error).message}`);
  }
  return { config, verifyPeer, alpn, datagramSize };
}

/**
 * A listener's configs, chosen by the client's address: one for loopback clients and one for the rest (the same one
 * when both datagram sizes are equal). Both are built at once, so that bad settings fail the listen call.
 */
export function serverConfigs(tls: TlsOptions, settings: ResolvedSettings): (ip: string) => BuiltConfig {
  const remote = buildConfig('server', tls, settings, settings.maxDatagramSize);
  const loopback =
    settings.loopbackDatagramSize === settings.maxDatagramSize ? remote : buildConfig('server', tls, settings, settings.loopbackDatagramSize);
  return (ip) => (isLoopback(ip) ? loopback : remote);
}
