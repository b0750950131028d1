/**
 * Why a QUIC connection closed, as a typed error from the catalogue (QuicError and its subclasses in errors.ts).
 * Handshake failures reach callers of `dial` wrapped in a DialError whose `cause` is one of these.
 */
import { QuicError, QuicPeerClosedError, QuicTlsError } from '../../errors.js';
import type { ConnectionError } from './native.js';

const CRYPTO_ERROR_START = 0x100;
const CRYPTO_ERROR_STOP = 0x1ff;

const transportErrors: Record<number, string> = {
  0x0: 'no error',
  0x1: 'internal error',
  0x2: 'connection refused',
  0x3: 'flow control error',
  0x4: 'stream limit error',
  0x5: 'stream state error',
  0x6: 'final size error',
  0x7: 'frame encoding error',
  0x8: 'transport parameter error',
  0x9: 'connection id limit error',
  0xa: 'protocol violation',
  0xb: 'invalid token',
  0xc: 'application error',
  0xd: 'crypto buffer exceeded',
  0xe: 'key update error',
  0xf: 'AEAD limit reached',
  0x10: 'no viable path',
};

/** TLS alerts (RFC 8446 section 6), which QUIC carries as transport errors 0x100 + alert. */
const tlsAlerts: Record<number, string> = {
  10: 'unexpected message',
  20: 'bad record MAC',
  40: 'handshake failure',
  42: 'bad certificate',
  43: 'unsupported certificate',
  44: 'certificate revoked',
  45: 'certificate expired',
  46: 'certificate unknown',
  47: 'illegal parameter',
  48: 'unknown CA',
  49: 'access denied',
  50: 'decode error',
  51: 'decrypt error',
  70: 'protocol version',
  71: 'insufficient security',
  80: 'internal error',
  109: 'missing extension',
  110: 'unsupported extension',
  112: 'unrecognized name',
  116: 'certificate required',
  120: 'no application protocol',
};

/** Describes a CONNECTION_CLOSE error (ours or the peer's). */
export function quicCloseError(error: ConnectionError, remote: boolean, cause?: unknown): QuicError {
  const who = remote ? 'peer closed the connection' : 'connection closed';
  const reason = error.reason && error.reason.length ? `: ${Buffer.from(error.reason).toString('utf8')}` : '';
  const hex = `0x${error.errorCode.toString(16)}`;
  if (error.isApp) {
    const message = `rpcx: quic ${who} with application error ${hex}${reason}`;
    const details = { quicCode: error.errorCode, isApp: true, remote, cause };
    return remote ? new QuicPeerClosedError(message, details) : new QuicError(message, details);
  }
  if (error.errorCode >= CRYPTO_ERROR_START && error.errorCode <= CRYPTO_ERROR_STOP) {
    const alert = error.errorCode - CRYPTO_ERROR_START;
    const name = tlsAlerts[alert] ?? `alert ${alert}`;
    return new QuicTlsError(`rpcx: quic TLS handshake failed (${remote ? 'peer' : 'local'}): ${name} (${hex})${reason}`, {
      quicCode: error.errorCode,
      remote,
      cause,
    });
  }
  const name = transportErrors[error.errorCode] ?? 'transport error';
  const message = `rpcx: quic ${who}: ${name} (${hex})${reason}`;
  const details = { quicCode: error.errorCode, remote, cause };
  return remote ? new QuicPeerClosedError(message, details) : new QuicError(message, details);
}

/** True for a CONNECTION_CLOSE that carries no error (code 0, transport or application). */
export function isCleanClose(error: ConnectionError | null): boolean {
  return error === null || error.errorCode === 0;
}
