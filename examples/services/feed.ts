/**
 * `Feed`: server push and cancellation. `Feed.Subscribe {Count}` pushes `Feed.Item {N}` to the calling connection
 * Count times (as Go rpcx's SendMessage does) and then answers Count; `Feed.Sleep {Ms}` answers "done" after Ms
 * milliseconds, or at once when the call is cancelled (deadline, client gone).
 */
import type { CallContext } from '../../server/context.js';
import { method, service } from '../../server/decorators.js';

@service('Feed')
export class Feed {
  @method()
  async subscribe(args: { Count: number }, ctx: CallContext): Promise<number> {
    for (let i = 0; i < args.Count; i++) ctx.connection.push('Feed', 'Item', { N: i });
    return args.Count;
  }

  @method()
  async sleep(args: { Ms: number }, ctx: CallContext): Promise<string> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, args.Ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return 'done';
  }
}
