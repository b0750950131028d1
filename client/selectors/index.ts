/** The built-in select modes and the factory that turns a mode name (or a user selector) into a Selector. */
import { ConfigError } from '../../errors.js';
import { ClosestSelector } from './closest.js';
import { ConsistentHashSelector } from './consistent-hash.js';
import { FunctionSelector } from './custom.js';
import { LatencySelector } from './latency.js';
import { P2CSelector } from './p2c.js';
import { RandomSelector } from './random.js';
import { RoundRobinSelector } from './round-robin.js';
import type { SelectFunction, Selector } from './selector.js';
import { WeightedRoundRobinSelector } from './weighted.js';

export const SelectMode = {
  Random: 'random',
  RoundRobin: 'roundrobin',
  WeightedRoundRobin: 'weighted',
  Latency: 'latency',
  ConsistentHash: 'hash',
  Closest: 'closest',
  P2C: 'p2c',
} as const;

export type SelectModeName = (typeof SelectMode)[keyof typeof SelectMode];

/** A built-in mode by name, a Selector object, or a selection function. */
export type SelectMode = SelectModeName | Selector | SelectFunction;

export interface SelectorFactoryOptions {
  /** The client's position, for 'closest'. */
  latitude?: number;
  longitude?: number;
}

export function createSelector(mode: SelectMode, options: SelectorFactoryOptions = {}): Selector {
  if (typeof mode === 'function') return new FunctionSelector(mode);
  if (typeof mode === 'object' && mode !== null) return mode;
  switch (mode) {
    case 'random':
      return new RandomSelector();
    case 'roundrobin':
      return new RoundRobinSelector();
    case 'weighted':
      return new WeightedRoundRobinSelector();
    case 'latency':
      return new LatencySelector();
    case 'hash':
      return new ConsistentHashSelector();
    case 'closest':
      if (options.latitude === undefined || options.longitude === undefined) {
        throw new ConfigError("rpcx: select mode 'closest' needs the latitude and longitude options");
      }
      return new ClosestSelector(options.latitude, options.longitude);
    case 'p2c':
      return new P2CSelector();
    default:
      throw new ConfigError(`rpcx: unknown select mode ${String(mode)}`);
  }
}

export {
  ClosestSelector,
  ConsistentHashSelector,
  FunctionSelector,
  LatencySelector,
  P2CSelector,
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
};
export type { SelectFunction, SelectInfo, Selector, SelectorHost } from './selector.js';
