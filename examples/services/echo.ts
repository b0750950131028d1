/**
 * `Echo.Echo` returns its argument unchanged: the raw bytes with serialize type 0, the decoded value otherwise
 * (the reply is encoded in the request's serialize type, so the bytes come back as they went).
 */
import { method, service } from '../../server/decorators.js';

@service('Echo')
export class Echo {
  @method()
  echo(args: unknown): unknown {
    return args;
  }
}
