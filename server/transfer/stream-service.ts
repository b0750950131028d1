/**
 * rpcx's stream service (`_streamservice.Stream`): the token call may be refused by `accept` (the client gets rpcx's
 * "server refused the connection"); with a token, the client dials the TokenGate's listener and the connection, after
 * the token, is a raw byte stream both ways, handed to `handler`.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { asError, ServiceError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { readStreamServiceArgs, structToWire, type StreamServiceArgs } from '../../protocol/transfer-structs.js';
import type { TlsOptions } from '../../transport/transport.js';
import type { CallContext } from '../context.js';
import { TokenGate, type TokenGateOptions } from './token-gate.js';

/** rpcx's `server.ErrNotAccept` text. */
export const STREAM_REFUSED_TEXT = 'server refused the connection';

export interface StreamServiceOptions extends TokenGateOptions {
  /** Whether to hand out a token for this call (after the server's auth). Default: accept all. */
  accept?: (args: StreamServiceArgs, ctx: CallContext) => boolean | Promise<boolean>;
  /** Owns the data connection: read and write it, and end or destroy it when done. */
  handler: (conn: Duplex, args: StreamServiceArgs) => void | Promise<void>;
}

export class StreamService {
  readonly #gate: TokenGate<StreamServiceArgs>;
  readonly #options: StreamServiceOptions;

  static async start(options: StreamServiceOptions, tlsDefault: TlsOptions | undefined, logger: Logger): Promise<StreamService> {
    const gate = await TokenGate.open<StreamServiceArgs>(options, tlsDefault, logger, (socket: net.Socket, args) => {
      Promise.resolve()
        .then(() => options.handler(socket, args))
        .catch((error: unknown) => {
          logger.warn('stream handler failed', { remote: socket.remoteAddress, error: asError(error).message });
          if (!socket.destroyed) socket.resetAndDestroy();
        });
    });
    return new StreamService(gate, options);
  }

  private constructor(gate: TokenGate<StreamServiceArgs>, options: StreamServiceOptions) {
    this.#gate = gate;
    this.#options = options;
  }

  get gate(): TokenGate<unknown> {
    return this.#gate as TokenGate<unknown>;
  }

  /** The `Stream` method. */
  async stream(value: unknown, ctx: CallContext): Promise<unknown> {
    const args = readStreamServiceArgs(value, ctx.serializeType);
    if (this.#options.accept && !(await this.#options.accept(args, ctx))) throw new ServiceError(STREAM_REFUSED_TEXT);
    return structToWire({ ...this.#gate.issue(args) }, ctx.serializeType);
  }

  /** Stops taking data connections; transfers under way get up to `graceMs` to finish. */
  close(graceMs = 0): Promise<void> {
    return this.#gate.close(graceMs);
  }
}
