/** `Arith`, the service of rpcx's examples: `Mul` and `Add` on `{A, B}` → `{C}`. Go rpcx clients call it unchanged. */
import { method, service } from '../../server/decorators.js';
import type { CallContext } from '../../server/context.js';

export interface ArithArgs {
  A: number;
  B: number;
}

export interface ArithReply {
  C: number;
}

@service('Arith')
export class Arith {
  @method()
  async mul(args: ArithArgs, _ctx?: CallContext): Promise<ArithReply> {
    return { C: args.A * args.B };
  }

  @method()
  async add(args: ArithArgs, _ctx?: CallContext): Promise<ArithReply> {
    return { C: args.A + args.B };
  }
}
