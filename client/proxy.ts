/**
 * Typed service proxies: `client.proxy<Arith>('Arith').mul({ A: 10, B: 20 })` calls `Arith.Mul`. Method names map
 * to wire names as on the server (first letter upper-cased), so one TypeScript class describes both sides.
 */
import { goName } from '../protocol/names.js';
import type { CallOptions } from './call-options.js';

/** Any object that can make a call: a Client or an XClient. */
export interface Caller {
  call<T = unknown>(service: string, method: string, args: unknown, options?: CallOptions): Promise<T>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/** The callable surface of service class `T`: each method takes its argument and call options, returns a Promise. */
export type ServiceProxy<T> = {
  [K in keyof T as T[K] extends AnyFunction ? K : never]: T[K] extends (args: infer A, ...rest: infer _R) => infer Result
    ? (args: A, options?: CallOptions) => Promise<Awaited<Result>>
    : never;
};

export function createProxy<T>(caller: Caller, service: string): ServiceProxy<T> {
  const cache = new Map<string, AnyFunction>();
  return new Proxy(Object.create(null) as object, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      let fn = cache.get(property);
      if (!fn) {
        const wireName = goName(property);
        fn = (args: unknown, options?: CallOptions) => caller.call(service, wireName, args, options);
        cache.set(property, fn);
      }
      return fn;
    },
  }) as ServiceProxy<T>;
}
