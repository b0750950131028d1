import { RpcError } from '../errors.js';

/** A registry store could not be reached or refused an operation. */
export class RegistryError extends RpcError {
  constructor(message: string, cause?: unknown) {
    super('ERR_RPCX_REGISTRY', message, { cause });
  }
}
