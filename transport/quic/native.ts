/**
 * Typed loading of quiche's N-API binding, as shipped by `@matrixai/quic` in its per-platform packages
 * (`@matrixai/quic-linux-x64`, ...). Only the binding is used: none of the library's JavaScript (and so none of its
 * logging) runs. The types below describe the subset of the binding this transport calls.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface RecvInfo {
  from: HostPort;
  to: HostPort;
}

export interface SendInfo {
  from: HostPort;
  to: HostPort;
  at: object;
}

export interface ConnectionError {
  isApp: boolean;
  errorCode: number;
  reason: Uint8Array;
}

export interface NativeStats {
  recv: number;
  sent: number;
  lost: number;
  retrans: number;
  sentBytes: number;
  recvBytes: number;
  lostBytes: number;
  peerMaxIdleTimeout: number;
}

export interface NativeConfig {
  verifyPeer(verify: boolean): void;
  grease(grease: boolean): void;
  setApplicationProtos(protos: string[]): void;
  setMaxIdleTimeout(timeoutMs: number): void;
  setMaxRecvUdpPayloadSize(size: number): void;
  setMaxSendUdpPayloadSize(size: number): void;
  setInitialMaxData(v: number): void;
  setInitialMaxStreamDataBidiLocal(v: number): void;
  setInitialMaxStreamDataBidiRemote(v: number): void;
  setInitialMaxStreamDataUni(v: number): void;
  setInitialMaxStreamsBidi(v: number): void;
  setInitialMaxStreamsUni(v: number): void;
  setMaxAckDelay(v: number): void;
  setActiveConnectionIdLimit(v: number): void;
  setDisableActiveMigration(v: boolean): void;
  setCcAlgorithmName(name: string): void;
  enableHystart(v: boolean): void;
  enablePacing(v: boolean): void;
  setMaxStreamWindow(v: number): void;
  setMaxConnectionWindow(v: number): void;
}

export interface NativeConnection {
  recv(data: Uint8Array, info: RecvInfo): number;
  send(out: Uint8Array): [number, SendInfo] | null;
  streamRecv(streamId: number, out: Uint8Array): [number, boolean] | null;
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null;
  streamShutdown(streamId: number, direction: number, err: number): void | null;
  streamCapacity(streamId: number): number;
  streamFinished(streamId: number): boolean;
  readable(): Iterable<number>;
  timeout(): number | null;
  onTimeout(): void;
  close(app: boolean, err: number, reason: Uint8Array): void | null;
  applicationProto(): Uint8Array;
  peerCertChain(): Uint8Array[] | null;
  isEstablished(): boolean;
  isReadable(): boolean;
  isDraining(): boolean;
  isClosed(): boolean;
  isTimedOut(): boolean;
  peerError(): ConnectionError | null;
  localError(): ConnectionError | null;
  stats(): NativeStats;
  sendAckEliciting(): void;
}

export interface NativeHeader {
  ty: number;
  version: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array;
}

export interface QuicheBinding {
  MAX_CONN_ID_LEN: number;
  MIN_CLIENT_INITIAL_LEN: number;
  MAX_DATAGRAM_SIZE: number;
  MAX_CONNECTION_WINDOW: number;
  MAX_STREAM_WINDOW: number;
  CRYPTO_ERROR_START: number;
  CRYPTO_ERROR_STOP: number;
  negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number;
  retry(scid: Uint8Array, dcid: Uint8Array, newScid: Uint8Array, token: Uint8Array, version: number, out: Uint8Array): number;
  versionIsSupported(version: number): boolean;
  Config: {
    withBoringSslCtx(
      verifyPeer: boolean,
      verifyAllowFail: boolean,
      ca?: Uint8Array | null,
      key?: Uint8Array[] | null,
      cert?: Uint8Array[] | null,
      sigalgs?: string | null,
    ): NativeConfig;
  };
  Connection: {
    connect(serverName: string | null, scid: Uint8Array, local: HostPort, remote: HostPort, config: NativeConfig): NativeConnection;
    accept(scid: Uint8Array, odcid: Uint8Array | null, local: HostPort, remote: HostPort, config: NativeConfig): NativeConnection;
  };
  Header: {
    fromSlice(data: Uint8Array, dcidLen: number): NativeHeader;
  };
}

/** QUIC packet types as numbered by the binding. */
export const PacketType = { Initial: 0, Retry: 1, Handshake: 2, ZeroRTT: 3, VersionNegotiation: 4, Short: 5 } as const;

let binding: QuicheBinding | undefined;

const packagesByPlatform: Record<string, string[]> = {
  'linux-x64': ['@matrixai/quic-linux-x64'],
  'linux-arm64': ['@matrixai/quic-linux-arm64'],
  'linux-arm': ['@matrixai/quic-linux-arm'],
  'darwin-x64': ['@matrixai/quic-darwin-x64', '@matrixai/quic-darwin-universal'],
  'darwin-arm64': ['@matrixai/quic-darwin-arm64', '@matrixai/quic-darwin-universal'],
  'win32-x64': ['@matrixai/quic-win32-x64'],
};

/** Loads the binding once; throws a ConfigError naming the missing package when this platform has none installed. */
export function quiche(): QuicheBinding {
  if (binding) return binding;
  const platform = `${process.platform}-${process.arch}`;
  const candidates = packagesByPlatform[platform] ?? [];
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      binding = require(name) as QuicheBinding;
      return binding;
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new ConfigError(
    `rpcx: the quic network needs quiche's native binding for ${platform}` +
      (failures.length ? ` (${failures.join('; ')})` : ' (no package known for this platform)'),
  );
}
