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
    const { A, B } = checkArgs(args, 'Mul');
    return { C: A * B };
  }

  @method()
  async add(args: ArithArgs, _ctx?: CallContext): Promise<ArithReply> {
    const { A, B } = checkArgs(args, 'Add');
    return { C: A + B };
  }
}

/** A caller that forgot the argument (or sent the wrong shape) gets a sentence, not a TypeError from inside. */
function checkArgs(args: unknown, method: string): ArithArgs {
  const a = args as Partial<ArithArgs> | null | undefined;
  if (a === null || typeof a !== 'object' || typeof a.A !== 'number' || typeof a.B !== 'number') {
    throw new Error(`Arith.${method} takes {"A": number, "B": number}, got ${describe(args)}`);
  }
  return a as ArithArgs;
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} raw bytes`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 60) + '…' : text;
}
