/**
 * `kcp`: KCP over UDP, wire-compatible with xtaci/kcp-go (v5; interop-tested against 5.6.1) as rpcx uses it: AES
 * block crypt with a pbkdf2 key, FEC with 10 data + 3 parity shards, fast mode, stream mode, ack-nodelay. The protocol
 * pieces live in transport/kcp/:
 * segment.ts (segment codec), arq.ts (the KCP state machine), crypt.ts (nonce + crc32 header, AES-CFB as kcp-go),
 * reed-solomon.ts and fec.ts (kcp-go's FEC), packet.ts (the datagram pipeline), session.ts (a session as a `Conn`),
 * listener.ts and dialer.ts (the UDP sockets).
 *
 * Options (read from `ListenOptions` / `DialOptions`; both sides must agree on crypt and FEC):
 *
 * - `kcpKey?: string` (none): password. When set, datagrams are AES-encrypted with the key
 *   pbkdf2-sha1(kcpKey, kcpSalt, 4096 rounds, 32 bytes), as rpcx's examples derive it (`deriveKcpKey`).
 * - `kcpSalt?: string` (`rpcx-salt`): the pbkdf2 salt.
 * - `kcpCrypt?: 'aes' | 'none'` (`aes` when kcpKey is set): `'none'` is kcp-go's "none" block crypt (nonce + crc32
 *   header, no cipher). With neither kcpKey nor kcpCrypt there is no crypt layer at all (kcp-go's nil BlockCrypt).
 * - `kcpDataShards?: number` (10), `kcpParityShards?: number` (3): FEC shards, as rpcx configures KCP; 0 and 0 disable
 *   FEC.
 * - Fast mode, as the kcp-go peer uses it: `kcpNoDelay?: 0 | 1` (1: minimum RTO 30 ms, 1.5x backoff),
 *   `kcpInterval?: number` (10 ms, 10..5000), `kcpResend?: number` (2: fast retransmit after 2 skipping acks, 0 off),
 *   `kcpNoCongestion?: boolean` (true: ikcp nc = 1).
 * - `kcpSndWnd?: number` (1024), `kcpRcvWnd?: number` (1024): windows, in segments.
 * - `kcpMtu?: number` (1400): datagram size limit, headers included.
 * - `kcpStreamMode?: boolean` (true): writes coalesce into full segments.
 * - `kcpAckNoDelay?: boolean` (true): acks leave as soon as the current batch of datagrams is read, not at the next
 *   interval.
 * - `kcpIdleTimeoutMs?: number` (60000): a session (server or client side) closes with `KcpIdleTimeoutError` when
 *   nothing arrived for this long; 0 = never.
 * - Listen only: `kcpMaxSessions?: number` (1024; also capped by the generic `maxConnections` listen option) and
 *   `kcpAcceptPerSecond?: number` (200): a datagram that would open a session past either cap is dropped.
 * - `kcpSocketBufferBytes?: number` (4 MiB): UDP send / receive buffer request (the kernel caps it; 0 keeps the OS
 *   default). Bursts overflow the default ~200 KiB receive buffer.
 * - TEST ONLY: `kcpDropRate?: number` (0) drops that fraction of datagrams in both directions;
 *   `kcpDropPacket?: (direction: 'in' | 'out', datagram: Uint8Array) => boolean` drops a datagram when it returns true.
 * - Listen only: `reusePort: true` binds the UDP socket with SO_REUSEPORT.
 *
 * `kcpDropPacket` sees outgoing datagrams as sent (encrypted) and incoming ones after decryption.
 *
 * KCP has no close handshake: `end()` waits (at most 10 s) until the peer acknowledged what was written, then releases
 * the session; `destroy()` releases it at once. A session also closes with `KcpDeadLinkError` when a segment went
 * unacknowledged through 20 transmissions, and with `KcpIdleTimeoutError` after `kcpIdleTimeoutMs` of silence. A
 * listener's `close()` stops accepting; its socket closes when the last accepted session is released.
 */
import { ConfigError } from '../errors.js';
import { dialKcp } from './kcp/dialer.js';
import { KcpListener } from './kcp/listener.js';
import { resolveKcpSettings } from './kcp/options.js';
import { splitHostPort } from './networks.js';
import type { Transport } from './transport.js';

export { deriveKcpKey, DEFAULT_KCP_SALT } from './kcp/crypt.js';
export type { KcpCryptName } from './kcp/crypt.js';
export { KCP_DEFAULTS, type KcpOptions, type KcpDropPredicate } from './kcp/options.js';
export { KcpSession, type KcpSessionStats } from './kcp/session.js';
export { KcpListener } from './kcp/listener.js';

export const kcpTransport: Transport = {
  networks: ['kcp'],

  async listen(network, address, options, onConn) {
    if (options.tls) throw new ConfigError('rpcx: kcp does not support tls (use kcpKey for encryption)');
    const { host, port } = splitHostPort(address);
    return KcpListener.listen(network, host, port, resolveKcpSettings(options), onConn, options.reusePort === true);
  },

  async dial(network, address, options) {
    if (options.tls) throw new ConfigError('rpcx: kcp does not support tls (use kcpKey for encryption)');
    const { host, port } = splitHostPort(address);
    return dialKcp(network, host === '0.0.0.0' ? '127.0.0.1' : host, port, resolveKcpSettings(options), options);
  },
};
