/** One fixed server: the discovery of a client that talks to a single peer, as rpcx's Peer2PeerDiscovery. */
import { normalizeServerKey, type Discovery, type DiscoveryListener, type ServicePair } from './discovery.js';

export class Peer2PeerDiscovery implements Discovery {
  readonly #pair: ServicePair;

  /** `server` is `network@address` (no `@` means tcp); `metadata` a query string such as `weight=3`. */
  constructor(server: string, metadata = '') {
    this.#pair = { key: normalizeServerKey(server), value: metadata };
  }

  list(): ServicePair[] {
    return [{ ...this.#pair }];
  }

  watch(_listener: DiscoveryListener): () => void {
    return () => undefined;
  }

  close(): void {}
}
