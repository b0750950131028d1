/**
 * `wt`: rpcx over WebTransport, through @fails-components/webtransport (loaded only when a `wt` endpoint is used).
 * Endpoint `wt@host:port` (session URL `https://host:port/_rpcx_`) or `wt@host:port/path`.
 *
 * The server speaks WebTransport over HTTP/2 (extended CONNECT and capsules) and over the package's WebSocket mapping
 * (draft-richter-webtransport-websocket: what browsers without HTTP/3 use, through the ponyfill) on one TCP port, and
 * also over HTTP/3 on the same UDP port when the optional native package
 * `@fails-components/webtransport-transport-http3-quiche` is installed (it builds from sources at install time;
 * nothing else needs it). Each client connection is one WebTransport session carrying the rpcx byte stream on one
 * bidirectional stream that the client opens (see webtransport-conn.ts for why).
 *
 * TLS is mandatory, as for `quic`: listen options need `tls.cert` and `tls.key` (PEM). Client certificates
 * (`requestCert`) are not supported by the package's server. The Node client verifies the server against the system
 * trust store plus `tls.ca` when given, and checks the host name of the endpoint; or, like a browser, it accepts a
 * certificate whose SHA-256 is listed in the dial option `wtCertificateHashes` (WebTransport's serverCertificateHashes:
 * ECDSA, valid at most 14 days). `tls.insecure`, `tls.servername` and client certificates cannot be honoured by the
 * package's client and are refused with a ConfigError rather than ignored.
 *
 * Listen options: `wtHttp3?: boolean` (default: whether the native package is installed) serves HTTP/3 too.
 * Dial options: `wtCertificateHashes?: { algorithm: 'sha-256'; value: BufferSource }[]`.
 */
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { ConfigError } from '../errors.js';
import { RPCX_PATH } from '../protocol/constants.js';
import { joinHostPort, splitHostPort } from './networks.js';
import type { Conn, DialOptions, Listener, ListenOptions, TlsOptions, Transport } from './transport.js';
import {
  dialWebTransport,
  WEBTRANSPORT_WINDOWS,
  webTransportUrl,
  WebTransportConn,
  type WebTransportConstructor,
  type WebTransportSessionLike,
  type WebTransportStreamLike,
} from './webtransport-conn.js';

export const WEBTRANSPORT_PACKAGE = '@fails-components/webtransport';
export const WEBTRANSPORT_HTTP3_PACKAGE = '@fails-components/webtransport-transport-http3-quiche';

interface ServerSession extends WebTransportSessionLike {
  readonly peerAddress?: string;
}

interface PackageServer {
  startServer(): void;
  stopServer(): void;
  readonly ready: Promise<void>;
  readonly closed: Promise<void>;
  address(): { port: number; host: string } | null;
  sessionStream(path: string): ReadableStream<ServerSession>;
}

type PackageServerConstructor = new (init: Record<string, unknown>) => PackageServer;

interface WebTransportPackage {
  HttpServer: PackageServerConstructor;
  Http2Server: PackageServerConstructor;
  WebTransport: WebTransportConstructor;
  quicheLoaded: Promise<unknown>;
}

interface Loaded {
  pkg: WebTransportPackage;
  http3: boolean;
}

let loading: Promise<Loaded> | undefined;

/** Loads the package once, on first use of the network. */
export function loadWebTransport(): Promise<Loaded> {
  loading ??= (async () => {
    const http3 = await import(WEBTRANSPORT_HTTP3_PACKAGE).then(
      () => true,
      () => false,
    );
    // Without the native part, the package's own attempt to load it (made as it loads) prints an error to the
    // console on every start. That attempt's outcome is known here, so those lines (and only those) are dropped.
    const restore = http3 ? () => {} : muteMissingHttp3Notice();
    try {
      const pkg = (await import(WEBTRANSPORT_PACKAGE)) as unknown as WebTransportPackage;
      await pkg.quicheLoaded;
      await new Promise((resolve) => setTimeout(resolve, 0));
      return { pkg, http3 };
    } catch (error) {
      loading = undefined;
      throw new ConfigError(`rpcx: the wt network needs the ${WEBTRANSPORT_PACKAGE} package: ${(error as Error).message}`);
    } finally {
      restore();
    }
  })();
  return loading;
}

/* eslint-disable no-console -- not our output: this swaps the package's console writes for a filter and back. */
function muteMissingHttp3Notice(): () => void {
  const notice = /^(Problem loading http3-quiche transport|Did you install @fails-components\/webtransport-transport-http3-quiche|http3 loader:)/;
  const { error, log } = console;
  const filter =
    (write: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && notice.test(args[0])) return;
      write(...args);
    };
  console.error = filter(error);
  console.log = filter(log);
  return () => {
    console.error = error;
    console.log = log;
  };
}
/* eslint-enable no-console */

function pem(value: unknown, what: string): string {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first;
  if (first instanceof Uint8Array) return Buffer.from(first).toString('utf8');
  if (first && typeof first === 'object' && 'pem' in first) return pem((first as { pem: unknown }).pem, what);
  throw new ConfigError(`rpcx: the wt network requires TLS: listen options need tls.${what} (PEM)`);
}

function splitPath(address: string): { hostPort: string; path: string } {
  const slash = address.indexOf('/');
  return slash < 0 ? { hostPort: address, path: RPCX_PATH } : { hostPort: address.slice(0, slash), path: address.slice(slash) };
}

async function listenWebTransport(network: string, address: string, options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
  if (!options.tls) throw new ConfigError('rpcx: the wt network requires TLS: listen options need tls.cert and tls.key');
  if (options.tls.requestCert) throw new ConfigError('rpcx: the wt network does not support client certificates (requestCert)');
  const cert = pem(options.tls.cert, 'cert');
  const privKey = pem(options.tls.key, 'key');
  const { hostPort, path } = splitPath(address);
  const { host, port } = splitHostPort(hostPort);
  const { pkg, http3 } = await loadWebTransport();
  const withHttp3 = options.wtHttp3 === undefined ? http3 : options.wtHttp3 === true;
  if (withHttp3 && !http3) throw new ConfigError(`rpcx: wtHttp3 needs the optional package ${WEBTRANSPORT_HTTP3_PACKAGE}`);
  const init = { host, port, cert, privKey, secret: randomBytes(32).toString('hex'), ...WEBTRANSPORT_WINDOWS };
  const server = withHttp3 ? new pkg.HttpServer({ ...init, reliability: 'both' }) : new pkg.Http2Server(init);
  server.startServer();
  await server.ready;
  const sessions = server.sessionStream(path);
  // Sessions whose client has not sent on its stream yet (over HTTP/2 a stream appears with its first bytes): they
  // belong to nobody else, so closing the listener closes them.
  const waiting = new Set<ServerSession>();
  const open = (session: ServerSession, stream: WebTransportStreamLike): void =>
    onConn(new WebTransportConn(network, session, stream, session.peerAddress ?? '', '', options.highWaterMark));
  void acceptSessions(sessions, waiting, open);
  const bound = server.address();
  const boundAddress = bound ? joinHostPort(bound.host, bound.port) : hostPort;
  let closing: Promise<void> | undefined;
  return {
    network,
    address: path === RPCX_PATH ? boundAddress : boundAddress + path,
    close() {
      closing ??= (async () => {
        server.stopServer();
        for (const session of waiting) closeQuietly(session);
        await server.closed;
      })();
      return closing;
    },
  };
}

async function acceptSessions(
  sessions: ReadableStream<ServerSession>,
  waiting: Set<ServerSession>,
  open: (session: ServerSession, stream: WebTransportStreamLike) => void,
): Promise<void> {
  const reader = sessions.getReader();
  for (;;) {
    const { value: session, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
    if (done || !session) return;
    void acceptStream(session, waiting, open);
  }
}

/** The rpcx connection is the first bidirectional stream the client opens; any further one is refused. */
async function acceptStream(session: ServerSession, waiting: Set<ServerSession>, open: (session: ServerSession, stream: WebTransportStreamLike) => void): Promise<void> {
  waiting.add(session);
  session.closed.then(
    () => waiting.delete(session),
    () => waiting.delete(session),
  );
  try {
    await session.ready;
    const streams = session.incomingBidirectionalStreams.getReader();
    const first = await streams.read();
    waiting.delete(session);
    if (first.done) return;
    open(session, first.value);
    for (;;) {
      const extra = await streams.read();
      if (extra.done) return;
      refuse(extra.value);
    }
  } catch {
    // The session went away before or while its stream was accepted; the Conn (if any) reports its own close.
  }
}

function closeQuietly(session: ServerSession): void {
  try {
    session.close({ closeCode: 0, reason: 'listener closed' });
  } catch {
    // Already closed.
  }
}

function refuse(stream: WebTransportStreamLike): void {
  stream.readable.cancel().catch(() => {});
  stream.writable.abort().catch(() => {});
}

async function dialWebTransportNode(network: string, address: string, options: DialOptions): Promise<Conn> {
  const { pkg, http3 } = await loadWebTransport();
  const hashes = options.wtCertificateHashes;
  const ca = clientTrust(options.tls);
  const args: Record<string, unknown> = { ...WEBTRANSPORT_WINDOWS, forceReliable: !http3 };
  if (hashes !== undefined) {
    if (!Array.isArray(hashes)) throw new ConfigError('rpcx: wtCertificateHashes must be an array of { algorithm, value }');
    args.serverCertificateHashes = hashes;
  }
  return dialWebTransport(network, address, () => withExtraTrust(ca, () => new pkg.WebTransport(webTransportUrl(address), args)), options.connectTimeoutMs ?? 10_000, options.signal);
}

function clientTrust(options: TlsOptions | undefined): string[] {
  if (!options) return [];
  const { ca, insecure, servername, cert, key, pfx } = options;
  if (insecure) throw new ConfigError('rpcx: the wt client cannot skip certificate verification: give tls.ca or wtCertificateHashes');
  if (servername) throw new ConfigError('rpcx: the wt client verifies the endpoint host name; tls.servername is not supported');
  if (cert || key || pfx) throw new ConfigError('rpcx: the wt network does not support client certificates');
  if (ca === undefined) return [];
  return (Array.isArray(ca) ? ca : [ca]).map((entry) => (typeof entry === 'string' ? entry : Buffer.from(entry).toString('utf8')));
}

/**
 * The package's HTTP/2 client verifies against Node's default CA list and takes no `ca` option. Its connection (and
 * TLS context) is created synchronously inside the WebTransport constructor, so the private CA is added to the
 * default list for exactly that call and removed before anything else can run.
 */
function withExtraTrust<T>(ca: string[], create: () => T): T {
  if (ca.length === 0) return create();
  const defaults = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...defaults, ...ca]);
  try {
    return create();
  } finally {
    tls.setDefaultCACertificates(defaults);
  }
}

export const webTransportTransport: Transport = {
  networks: ['wt'],
  listen: listenWebTransport,
  dial: dialWebTransportNode,
};
