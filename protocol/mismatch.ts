/**
 * A client that dials the wrong kind of port gets bytes that are not rpcx. The first byte usually tells what the
 * port speaks, so the error says that instead of "bad magic byte".
 */
import { BadMagicError, type ProtocolError } from '../errors.js';

const HTTP_FIRST_BYTE = 0x48; // 'H' of "HTTP/1.1 400 Bad Request"
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;

export function explainMismatch(error: ProtocolError, endpoint: string): ProtocolError {
  if (!(error instanceof BadMagicError)) return error;
  if (error.byte === HTTP_FIRST_BYTE) {
    return new BadMagicError(error.byte, `rpcx: ${endpoint} answered with HTTP, not rpcx: this port speaks HTTP: try http@ or ws@`);
  }
  if (error.byte === TLS_ALERT || error.byte === TLS_HANDSHAKE) {
    return new BadMagicError(error.byte, `rpcx: ${endpoint} answered with TLS, not plaintext rpcx: this port speaks TLS: dial it with TLS options (a CA, or insecure)`);
  }
  return error;
}

/**
 * A server that closes a connection without sending a single byte while calls wait is most often a TLS server that
 * received plaintext (it drops the connection without an alert).
 */
export const SILENT_CLOSE_HINT = 'the server closed it without answering (if the port serves TLS, dial it with TLS options)';

/** A TLS handshake that fails because the server answered in plaintext, in one line. */
export function explainTlsDialFailure(error: Error & { code?: string }): string | undefined {
  const text = `${error.code ?? ''} ${error.message}`;
  if (/WRONG_VERSION_NUMBER|wrong version number|packet length too long|before secure TLS connection|ECONNRESET/.test(text)) {
    return 'the server does not speak TLS on this port (plaintext rpcx?): dial it without TLS options';
  }
  return undefined;
}
