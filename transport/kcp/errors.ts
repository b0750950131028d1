/**
 * Errors raised by the KCP transport. They extend the library's `RpcError`, so callers switch on `code`.
 */
import { RpcError } from '../../errors.js';

export class KcpError extends RpcError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

/** A segment was retransmitted `deadLink` times without being acknowledged: the peer is gone. */
export class KcpDeadLinkError extends KcpError {
  constructor(remote: string) {
    super('ERR_RPCX_KCP_DEAD_LINK', `rpcx: kcp session to ${remote} is dead (no acknowledgement after repeated retransmission)`);
  }
}

/** Nothing arrived from the peer for the configured idle timeout. */
export class KcpIdleTimeoutError extends KcpError {
  constructor(remote: string, idleMs: number) {
    super('ERR_RPCX_KCP_IDLE_TIMEOUT', `rpcx: kcp session to ${remote} idle for ${idleMs} ms, closed`);
  }
}

/** The UDP socket under a session failed or closed. */
export class KcpSocketError extends KcpError {
  constructor(message: string, cause?: unknown) {
    super('ERR_RPCX_KCP_SOCKET', message, cause);
  }
}
