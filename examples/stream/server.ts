/**
 * rpcx-examples' stream server in TypeScript, plus typed streams:
 *   - rpcx's stream service (`_streamservice`, Go-compatible): every connection gets an echo of what it sends;
 *   - `Clock.Ticks`, a typed server stream (an async generator), and `Clock.Sum`, a typed client stream, for
 *     rpcx-ts clients, on the same rpcx port.
 *
 *   node dist/examples/stream/server.js [tcp@127.0.0.1:8972] [data listener, default 127.0.0.1:8974]
 */
import 'reflect-metadata';
import { CallContext, method, Server, service } from '../../index.js';
import { serveUntilSignal } from '../until-signal.js';

@service('Clock')
class Clock {
  /** `Count` ticks, `IntervalMs` apart; stops early when the client goes away. */
  @method()
  async *ticks(args: { Count: number; IntervalMs: number }, ctx: CallContext): AsyncGenerator<{ N: number; At: string }> {
    for (let n = 1; n <= args.Count && !ctx.signal.aborted; n++) {
      yield { N: n, At: new Date().toISOString() };
      await new Promise((resolve) => setTimeout(resolve, args.IntervalMs));
    }
  }

  @method({ stream: 'client' })
  async sum(numbers: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  }
}

const endpoint = process.argv[2] ?? 'tcp@127.0.0.1:8972';
const dataListen = process.argv[3] ?? '127.0.0.1:8974';
const server = new Server();
server.register(Clock);
const listener = await server.serve(endpoint);
await server.enableStreamService({
  listen: dataListen,
  handler: (conn) => {
    conn.pipe(conn);
  },
});
serveUntilSignal(server, listener);
