/**
 * The KCP server side: one UDP socket, sessions keyed by peer address and conversation id, new sessions accepted when a
 * datagram of an unknown conversation arrives that looks like the start of one (its una is 0: the peer has received
 * nothing from us yet). Datagrams are decrypted once here, then routed; FEC parity datagrams carry no conversation id
 * and go to the peer address's most recent session.
 *
 * A datagram that would open a session is dropped when the listener already holds `kcpMaxSessions` sessions or has
 * accepted `kcpAcceptPerSecond` in the last second (a token bucket): every session costs its buffers at once, so a
 * flood of fresh conversation ids (spoofable, with no key) must not turn into unbounded memory.
 *
 * A released session's (address, conversation) is remembered for a while and ignored, so retransmissions from a peer
 * that does not know its session ended cannot resurrect it as a new, broken one; that peer then sees a dead link.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { joinHostPort } from '../networks.js';
import type { Conn, Listener } from '../transport.js';
import { PacketCrypt } from './crypt.js';
import { KcpSocketError } from '../../errors.js';
import { applySocketBuffers, type KcpSettings } from './options.js';
import { conversationOf, openDatagram } from './packet.js';
import { KcpSession } from './session.js';

const FORGET_AFTER_MS = 120_000;
const MAX_REMEMBERED = 65_536;

/**
 * dgram resolves the address of every unconnected send, and dns.lookup answers even an IP literal on the next tick: a
 * process.nextTick and a closure per datagram. The peers a listener sends to are addresses read from rinfo, so
 * literals are answered at once (names, as a bind host may be, still go to dns.lookup).
 */
const literalFirstLookup: NonNullable<dgram.SocketOptions['lookup']> = (hostname, options, callback) => {
  const version = net.isIP(hostname);
  if (version !== 0) callback(null, hostname, version);
  else dns.lookup(hostname, options, callback);
};

export class KcpListener implements Listener {
  readonly network: string;
  readonly address: string;
  readonly #socket: dgram.Socket;
  readonly #settings: KcpSettings;
  readonly #crypt: PacketCrypt | undefined;
  readonly #onConn: (conn: Conn) => void;
  /** peer address -> conversation id -> session (the inner map keeps insertion order: last is most recent). */
  readonly #sessions = new Map<string, Map<number, KcpSession>>();
  readonly #released = new Map<string, number>();
  readonly #id = { conv: 0, una: 0 };
  /** The last datagram's peer (address, port and joined key): consecutive datagrams mostly come from one peer. */
  #lastAddress = '';
  #lastPort = -1;
  #lastPeer = '';
  #count = 0;
  /** Accept tokens left, refilled at acceptPerSecond up to as many. */
  #tokens: number;
  #tokensAt = performance.now();
  /** Datagrams dropped because they would have opened a session past the caps. */
  refused = 0;
  #accepting = true;
  #socketClosed = false;
  #closeWaiters: (() => void)[] = [];

  private constructor(network: string, socket: dgram.Socket, settings: KcpSettings, onConn: (conn: Conn) => void) {
    this.network = network;
    this.#socket = socket;
    this.#settings = settings;
    this.#crypt = settings.block ? new PacketCrypt(settings.block) : undefined;
    this.#onConn = onConn;
    this.#tokens = settings.acceptPerSecond;
    const bound = socket.address();
    this.address = joinHostPort(bound.address, bound.port);
    socket.on('message', this.#onMessage);
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => {
      this.#socketClosed = true;
      const waiters = this.#closeWaiters;
      this.#closeWaiters = [];
      for (const w of waiters) w();
    });
  }

  static listen(network: string, host: string, port: number, settings: KcpSettings, onConn: (conn: Conn) => void, reusePort = false): Promise<KcpListener> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type: host.includes(':') ? 'udp6' : 'udp4',
        reuseAddr: reusePort,
        ...(reusePort ? { reusePort: true } : {}),
        lookup: literalFirstLookup,
      });
      const onError = (error: Error): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      socket.bind({ address: host, port }, () => {
        socket.off('error', onError);
        applySocketBuffers(socket, settings.socketBufferBytes);
        resolve(new KcpListener(network, socket, settings, onConn));
      });
    });
  }

  /** Live sessions. */
  get sessionCount(): number {
    return this.#count;
  }

  close(): Promise<void> {
    this.#accepting = false;
    if (this.#count === 0) return this.#closeSocket();
    return Promise.resolve();
  }

  #closeSocket(): Promise<void> {
    if (this.#socketClosed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#closeWaiters.push(resolve);
      if (this.#closeWaiters.length === 1) this.#socket.close();
    });
  }

  readonly #onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const body = openDatagram(this.#crypt, msg);
    if (!body) return;
    if (rinfo.port !== this.#lastPort || rinfo.address !== this.#lastAddress) {
      this.#lastAddress = rinfo.address;
      this.#lastPort = rinfo.port;
      this.#lastPeer = joinHostPort(rinfo.address, rinfo.port);
    }
    const peer = this.#lastPeer;
    const byConv = this.#sessions.get(peer);
    const id = this.#id;
    if (!conversationOf(body, id)) {
      // FEC parity (or junk): no conversation id inside; the peer's newest session gets it.
      if (byConv) {
        let last: KcpSession | undefined;
        for (const s of byConv.values()) last = s;
        last?.handleBody(body);
      }
      return;
    }
    let session = byConv?.get(id.conv);
    if (!session) {
      if (!this.#accepting || id.una !== 0) return;
      if (!this.#mayAccept()) {
        this.refused++;
        return;
      }
      const key = `${peer}/${id.conv}`;
      const forgottenAt = this.#released.get(key);
      if (forgottenAt !== undefined) {
        if (performance.now() < forgottenAt) return;
        this.#released.delete(key);
      }
      session = this.#accept(peer, rinfo.address, rinfo.port, id.conv);
    }
    session.handleBody(body);
  };

  #mayAccept(): boolean {
    const settings = this.#settings;
    if (this.#count >= settings.maxSessions) return false;
    const now = performance.now();
    this.#tokens = Math.min(settings.acceptPerSecond, this.#tokens + ((now - this.#tokensAt) / 1000) * settings.acceptPerSecond);
    this.#tokensAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  #accept(peer: string, address: string, port: number, conv: number): KcpSession {
    const socket = this.#socket;
    const session = new KcpSession(
      this.network,
      conv,
      this.#settings,
      {
        send: (datagram) => {
          if (!this.#socketClosed) socket.send(datagram, port, address);
        },
        released: (s) => this.#forget(peer, s),
      },
      peer,
      this.address,
    );
    let byConv = this.#sessions.get(peer);
    if (!byConv) {
      byConv = new Map();
      this.#sessions.set(peer, byConv);
    }
    byConv.set(conv, session);
    this.#count++;
    this.#onConn(session);
    return session;
  }

  #forget(peer: string, session: KcpSession): void {
    const byConv = this.#sessions.get(peer);
    if (!byConv || byConv.get(session.conv) !== session) return;
    byConv.delete(session.conv);
    if (byConv.size === 0) this.#sessions.delete(peer);
    this.#count--;
    if (this.#released.size >= MAX_REMEMBERED) this.#pruneReleased();
    this.#released.set(`${peer}/${session.conv}`, performance.now() + FORGET_AFTER_MS);
    if (!this.#accepting && this.#count === 0) void this.#closeSocket();
  }

  #pruneReleased(): void {
    const now = performance.now();
    for (const [key, until] of this.#released) if (until <= now) this.#released.delete(key);
    if (this.#released.size >= MAX_REMEMBERED) this.#released.clear();
  }

  #fail(error: Error): void {
    const wrapped = new KcpSocketError(`rpcx: kcp listener socket error: ${error.message}`, error);
    for (const byConv of [...this.#sessions.values()]) for (const s of [...byConv.values()]) s.destroy(wrapped);
    this.#accepting = false;
    void this.#closeSocket();
  }
}
