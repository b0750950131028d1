/**
 * The KCP settings read from listen / dial options (see transport/kcp.ts for the documented list), validated and
 * resolved to defaults that match rpcx's KCP setup and the kcp-go peer's fast mode.
 */
import { ConfigError } from '../../errors.js';
import { deriveKcpKey, DEFAULT_KCP_SALT, makeBlockCrypt, type BlockCrypt, type KcpCryptName } from './crypt.js';

/** Test hook: return true to drop a datagram. `direction` is as seen from this end. */
export type KcpDropPredicate = (direction: 'in' | 'out', datagram: Uint8Array) => boolean;

export interface KcpOptions {
  kcpKey?: string;
  kcpSalt?: string;
  kcpCrypt?: KcpCryptName;
  kcpDataShards?: number;
  kcpParityShards?: number;
  kcpNoDelay?: number;
  kcpInterval?: number;
  kcpResend?: number;
  kcpNoCongestion?: boolean;
  kcpSndWnd?: number;
  kcpRcvWnd?: number;
  kcpMtu?: number;
  kcpStreamMode?: boolean;
  kcpAckNoDelay?: boolean;
  kcpIdleTimeoutMs?: number;
  kcpMaxSessions?: number;
  kcpAcceptPerSecond?: number;
  kcpSocketBufferBytes?: number;
  kcpDropRate?: number;
  kcpDropPacket?: KcpDropPredicate;
}

export interface KcpSettings {
  block: BlockCrypt | undefined;
  dataShards: number;
  parityShards: number;
  nodelay: number;
  interval: number;
  resend: number;
  noCongestion: boolean;
  sndWnd: number;
  rcvWnd: number;
  mtu: number;
  streamMode: boolean;
  ackNoDelay: boolean;
  idleTimeoutMs: number;
  /** Listener: live sessions at most; datagrams that would open more are dropped. */
  maxSessions: number;
  /** Listener: new sessions accepted per second at most (a burst of as many is allowed). */
  acceptPerSecond: number;
  socketBufferBytes: number;
  drop: KcpDropPredicate | undefined;
}

export const KCP_DEFAULTS = {
  dataShards: 10,
  parityShards: 3,
  nodelay: 1,
  interval: 10,
  resend: 2,
  noCongestion: true,
  sndWnd: 1024,
  rcvWnd: 1024,
  mtu: 1400,
  streamMode: true,
  ackNoDelay: true,
  idleTimeoutMs: 60_000,
  maxSessions: 1024,
  acceptPerSecond: 200,
  socketBufferBytes: 4 << 20,
} as const;

function int(options: Record<string, unknown>, name: keyof KcpOptions, fallback: number, min: number, max: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`rpcx: kcp option ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function bool(options: Record<string, unknown>, name: keyof KcpOptions, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(`rpcx: kcp option ${name} must be a boolean`);
  return value;
}

/** Derived keys are cached: pbkdf2 with 4096 rounds costs milliseconds, and every dial would pay it. */
const keyCache = new Map<string, Buffer>();

function keyFor(password: string, salt: string): Buffer {
  const id = `${password.length}:${password}\u0000${salt}`;
  let key = keyCache.get(id);
  if (!key) {
    key = deriveKcpKey(password, salt);
    if (keyCache.size > 64) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** Asks for larger socket buffers (bursts of datagrams otherwise overflow the default ~200 KiB); best effort. */
export function applySocketBuffers(socket: { setRecvBufferSize(n: number): void; setSendBufferSize(n: number): void }, bytes: number): void {
  if (bytes <= 0) return;
  try {
    socket.setRecvBufferSize(bytes);
    socket.setSendBufferSize(bytes);
  } catch {
    // The kernel caps the size (net.core.rmem_max); a failure here only costs performance.
  }
}

export function resolveKcpSettings(options: Record<string, unknown>): KcpSettings {
  const key = options.kcpKey;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0)) throw new ConfigError('rpcx: kcp option kcpKey must be a non-empty string');
  const salt = options.kcpSalt ?? DEFAULT_KCP_SALT;
  if (typeof salt !== 'string') throw new ConfigError('rpcx: kcp option kcpSalt must be a string');
  const crypt = options.kcpCrypt;
  if (crypt !== undefined && crypt !== 'aes' && crypt !== 'none') throw new ConfigError(`rpcx: kcp option kcpCrypt must be 'aes' or 'none'`);
  if (crypt === 'aes' && key === undefined) throw new ConfigError('rpcx: kcp option kcpCrypt "aes" needs kcpKey');
  const block = makeBlockCrypt(crypt, key === undefined ? undefined : keyFor(key, salt));

  const dataShards = int(options, 'kcpDataShards', KCP_DEFAULTS.dataShards, 0, 255);
  const parityShards = int(options, 'kcpParityShards', KCP_DEFAULTS.parityShards, 0, 255);
  if ((dataShards === 0) !== (parityShards === 0)) throw new ConfigError('rpcx: kcp FEC needs both kcpDataShards and kcpParityShards (or both 0)');
  if (dataShards + parityShards > 256) throw new ConfigError('rpcx: kcp FEC supports at most 256 shards');

  const dropRate = options.kcpDropRate ?? 0;
  if (typeof dropRate !== 'number' || dropRate < 0 || dropRate >= 1) throw new ConfigError('rpcx: kcp option kcpDropRate must be in [0, 1)');
  const dropPacket = options.kcpDropPacket;
  if (dropPacket !== undefined && typeof dropPacket !== 'function') throw new ConfigError('rpcx: kcp option kcpDropPacket must be a function');
  let drop: KcpDropPredicate | undefined = dropPacket as KcpDropPredicate | undefined;
  if (dropRate > 0) {
    const inner = drop;
    drop = (direction, datagram) => Math.random() < dropRate || (inner !== undefined && inner(direction, datagram));
  }

  return {
    block,
    dataShards,
    parityShards,
    nodelay: int(options, 'kcpNoDelay', KCP_DEFAULTS.nodelay, 0, 1),
    interval: int(options, 'kcpInterval', KCP_DEFAULTS.interval, 10, 5000),
    resend: int(options, 'kcpResend', KCP_DEFAULTS.resend, 0, 1000),
    noCongestion: bool(options, 'kcpNoCongestion', KCP_DEFAULTS.noCongestion),
    sndWnd: int(options, 'kcpSndWnd', KCP_DEFAULTS.sndWnd, 1, 65535),
    rcvWnd: int(options, 'kcpRcvWnd', KCP_DEFAULTS.rcvWnd, 1, 65535),
    mtu: int(options, 'kcpMtu', KCP_DEFAULTS.mtu, 100, 1500),
    streamMode: bool(options, 'kcpStreamMode', KCP_DEFAULTS.streamMode),
    ackNoDelay: bool(options, 'kcpAckNoDelay', KCP_DEFAULTS.ackNoDelay),
    idleTimeoutMs: int(options, 'kcpIdleTimeoutMs', KCP_DEFAULTS.idleTimeoutMs, 0, 2 ** 31 - 1),
    // The generic `maxConnections` listen option (a Server passes its per-listener limit) caps sessions too.
    maxSessions: Math.min(
      int(options, 'kcpMaxSessions', KCP_DEFAULTS.maxSessions, 1, 2 ** 31 - 1),
      typeof options.maxConnections === 'number' && options.maxConnections > 0 ? options.maxConnections : Infinity,
    ),
    acceptPerSecond: int(options, 'kcpAcceptPerSecond', KCP_DEFAULTS.acceptPerSecond, 1, 2 ** 31 - 1),
    socketBufferBytes: int(options, 'kcpSocketBufferBytes', KCP_DEFAULTS.socketBufferBytes, 0, 1 << 30),
    drop,
  };
}
