/**
 * `wt` dialing for browsers. Dial option `wtMode`:
 * - `'auto'` (default): the browser's own WebTransport (HTTP/3) when it has one, falling back to the WebSocket
 *   mapping of @fails-components/webtransport when the session cannot be made (a server without HTTP/3, QUIC
 *   blocked); the package's WebTransportPolyfill does the choosing.
 * - `'websocket'`: the package's WebTransportPonyfill only (WebTransport over its WebSocket mapping, `wss://`).
 * - `'native'`: the browser's WebTransport only.
 * `wtCertificateHashes` is passed as WebTransport's serverCertificateHashes (for servers with short-lived self-signed
 * certificates). The package is loaded on the first `wt` dial; nothing here uses a Node API.
 *
 * Note: as it loads in a browser that has native WebTransport, the package probes serverCertificateHashes support by
 * opening (and abandoning) a session to https://example.com:23333.
 */
import { ConfigError } from '../errors.js';
import type { Transport } from './transport.js';
import { dialWebTransport, WEBTRANSPORT_WINDOWS, webTransportUrl, type WebTransportConstructor } from './webtransport-conn.js';

interface BrowserPackage {
  WebTransportPonyfill: WebTransportConstructor;
  WebTransportPolyfill: WebTransportConstructor;
}

export type WebTransportMode = 'auto' | 'websocket' | 'native';

async function chooseConstructor(mode: unknown): Promise<WebTransportConstructor> {
  const native = (globalThis as { WebTransport?: WebTransportConstructor }).WebTransport;
  if (mode === 'native') {
    if (!native) throw new ConfigError('rpcx: wtMode "native": this browser has no WebTransport');
    return native;
  }
  if (mode !== undefined && mode !== 'auto' && mode !== 'websocket') {
    throw new ConfigError(`rpcx: wtMode must be "auto", "websocket" or "native" (got ${String(mode)})`);
  }
  const pkg = (await import('@fails-components/webtransport')) as unknown as BrowserPackage;
  return mode === 'websocket' || !native ? pkg.WebTransportPonyfill : pkg.WebTransportPolyfill;
}

export const browserWebTransportTransport: Transport = {
  networks: ['wt'],
  listen() {
    throw new ConfigError('rpcx: browsers cannot listen');
  },
  async dial(network, address, options) {
    const Ctor = await chooseConstructor(options.wtMode);
    const hashes = options.wtCertificateHashes;
    const args = { ...WEBTRANSPORT_WINDOWS, ...(hashes ? { serverCertificateHashes: hashes } : {}) };
    return dialWebTransport(network, address, () => new Ctor(webTransportUrl(address), args), options.connectTimeoutMs ?? 10_000, options.signal);
  },
};
