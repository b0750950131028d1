/**
 * Typed service proxies: `client.proxy<Arith>('Arith').mul({ A: 10, B: 20 })` calls `Arith.Mul`. Method names map
 * to wire names as on the server (first letter upper-cased), so one TypeScript class describes both sides.
 *
 * Typed message streams go through the same proxy, and the service class's own signatures say which call a method
 * is, with no question to the server (docs/streams.md, "Through a typed proxy"):
 * - `for await (const e of feed.watch(args))`: iterated, argument not an async iterable → server stream;
 * - `for await (const r of feed.chat(input))`: iterated, argument an async iterable → bidirectional stream;
 * - `await feed.sum(input)`: awaited, argument an async iterable → client stream;
 * - `await feed.get(args)`: anything else → a unary call.
 * The value a proxy method returns is therefore both awaitable and async-iterable; a unary call is sent at once
 * (in the same turn, so a call nobody awaits still goes out) unless the value is iterated in the turn it was made,
 * which is what `for await (... of proxy.m(args))` does. A value iterated later costs one refused unary request first.
 * A call nobody awaits raises no unhandled rejection (it may yet be iterated).
 */
import { goName } from '../protocol/names.js';
import type { CallOptions } from './call-options.js';
import type { StreamCallOptions } from './message-stream.js';

/** Any object that can make calls and open typed streams: a Client, or an XClient through an adapter. */
export interface Caller {
  call<T = unknown>(service: string, method: string, args: unknown, options?: CallOptions): Promise<T>;
  serverStream<T = unknown>(service: string, method: string, args: unknown, options?: StreamCallOptions): AsyncIterable<T>;
  clientStream<R = unknown>(service: string, method: string, input: AsyncIterable<unknown>, options?: StreamCallOptions): Promise<R>;
  bidiStream<T = unknown>(service: string, method: string, input: AsyncIterable<unknown>, options?: StreamCallOptions): AsyncIterable<T>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/** True when `T` is `any` (which would otherwise match every branch below). */
type IsAny<T> = 0 extends 1 & T ? true : false;

/** The proxy's signature for one service method `F`, from its argument and return types. */
export type ProxyMethod<F> = F extends (args: infer A, ...rest: infer _R) => infer Result
  ? IsAny<A> extends true
    ? (args: A, options?: CallOptions) => Promise<Awaited<Result>>
    : A extends AsyncIterable<infer In>
      ? Result extends AsyncIterable<infer Out>
        ? (input: AsyncIterable<In>, options?: StreamCallOptions) => AsyncIterable<Out>
        : (input: AsyncIterable<In>, options?: StreamCallOptions) => Promise<Awaited<Result>>
      : Result extends AsyncIterable<infer Out>
        ? (args: A, options?: StreamCallOptions) => AsyncIterable<Out>
        : (args: A, options?: CallOptions) => Promise<Awaited<Result>>
  : never;

/** The callable surface of service class `T`: unary methods return a Promise, streaming ones an AsyncIterable. */
export type ServiceProxy<T> = {
  [K in keyof T as T[K] extends AnyFunction ? K : never]: ProxyMethod<T[K]>;
};

export function createProxy<T>(caller: Caller, service: string): ServiceProxy<T> {
  const cache = new Map<string, AnyFunction>();
  return new Proxy(Object.create(null) as object, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      let fn = cache.get(property);
      if (!fn) {
        const wireName = goName(property);
        fn = (args: unknown, options?: CallOptions) => proxyCall(caller, service, wireName, args, options);
        cache.set(property, fn);
      }
      return fn;
    },
  }) as ServiceProxy<T>;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

const ignore = (): void => undefined;

/** One proxy call: awaiting it makes a unary or client-stream call, iterating it a server or bidirectional stream. */
function proxyCall(caller: Caller, service: string, method: string, args: unknown, options: CallOptions | undefined): Promise<unknown> & AsyncIterable<unknown> {
  const streamInput = isAsyncIterable(args);
  let started: Promise<unknown> | undefined;
  let iterated = false;
  const start = (): Promise<unknown> =>
    (started ??= streamInput ? caller.clientStream(service, method, args, options as StreamCallOptions | undefined) : caller.call(service, method, args, options));
  // Sent in this turn (a unary call nobody awaits must still go out) unless `for await` takes the value first. Its
  // failure reaches whoever awaits the value; unawaited, it is no unhandled rejection, since the value may yet be
  // iterated (the server then refuses the unary request to a streaming method, and the stream opens).
  queueMicrotask(() => {
    if (!iterated) start().catch(ignore);
  });
  return {
    // The whole Promise surface, so `proxy.m(args).catch(...)` works as it does on a call's promise.
    then: (onFulfilled, onRejected) => start().then(onFulfilled, onRejected),
    catch: (onRejected) => start().catch(onRejected),
    finally: (onFinally) => start().finally(onFinally),
    [Symbol.toStringTag]: 'Promise',
    [Symbol.asyncIterator]: () => {
      iterated = true;
      const streamOptions = options as StreamCallOptions | undefined;
      const stream = streamInput ? caller.bidiStream(service, method, args, streamOptions) : caller.serverStream(service, method, args, streamOptions);
      return stream[Symbol.asyncIterator]();
    },
  };
}
