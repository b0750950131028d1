/**
 * The quic transport's byte stream over real UDP on 127.0.0.1: ordering, large payloads, many interleaved writers,
 * and how each side learns that the other closed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { quicTransport } from '../transport/quic.js';
import type { Conn, Listener } from '../transport/transport.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

let certs: TestCerts;

before(() => {
  certs = createTestCerts();
});

after(() => certs.cleanup());

function serverTls() {
  return { cert: certs.certPem, key: certs.keyPem };
}

function clientTls() {
  return { ca: certs.caPem };
}

/** Listens with a handler per accepted Conn; returns the listener and a queue of accepted conns. */
async function listen(onConn: (conn: Conn) => void = echo): Promise<{ listener: Listener; accepted: Promise<Conn> }> {
  let resolveAccepted!: (conn: Conn) => void;
  const accepted = new Promise<Conn>((resolve) => (resolveAccepted = resolve));
  const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: serverTls() }, (conn) => {
    onConn(conn);
    resolveAccepted(conn);
  });
  return { listener, accepted };
}

function echo(conn: Conn): void {
  conn.onData((chunk) => conn.write(chunk));
  conn.onClose(() => {});
}

/** Collects bytes until `total` have arrived. */
function collect(conn: Conn, total: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    conn.onData((chunk) => {
      chunks.push(Buffer.from(chunk));
      length += chunk.byteLength;
      if (length >= total) resolve(Buffer.concat(chunks, length));
    });
    conn.onClose((error) => {
      if (length < total) reject(error ?? new Error(`closed after ${length} of ${total} bytes`));
    });
  });
}

/** Splits a byte stream into frames of [u32 length][payload]. */
function framer(onFrame: (payload: Buffer) => void): (chunk: Uint8Array) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (buffered.length - offset >= 4) {
      const length = buffered.readUInt32BE(offset);
      if (buffered.length - offset < 4 + length) break;
      onFrame(buffered.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    buffered = Buffer.from(buffered.subarray(offset));
  };
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

function closeOf(conn: Conn): Promise<Error | undefined> {
  return new Promise((resolve) => conn.onClose((error) => resolve(error)));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

/**
 * A UDP relay between one client and a server that drops a share of the datagrams each way and delays some (so they
 * arrive out of order): quiche's loss recovery, driven by our timer, has to repair the stream.
 */
async function lossyRelay(
  target: string,
  dropRate: number,
): Promise<{ address: string; close(): void; dropped(): number; largest: { fromClient: number; fromServer: number } }> {
  const colon = target.lastIndexOf(':');
  const serverHost = target.slice(0, colon);
  const serverPort = Number(target.slice(colon + 1));
  const socket = dgram.createSocket('udp4');
  let client: { address: string; port: number } | undefined;
  let dropped = 0;
  let closed = false;
  const largest = { fromClient: 0, fromServer: 0 };
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  socket.on('message', (data, rinfo) => {
    const fromServer = rinfo.port === serverPort && rinfo.address === serverHost;
    if (!fromServer) client = { address: rinfo.address, port: rinfo.port };
    const to = fromServer ? client : { address: serverHost, port: serverPort };
    if (!to) return;
    if (fromServer) largest.fromServer = Math.max(largest.fromServer, data.length);
    else largest.fromClient = Math.max(largest.fromClient, data.length);
    const roll = random();
    if (roll < dropRate) {
      dropped++;
      return;
    }
    const send = (): void => {
      if (!closed) socket.send(data, to.port, to.address);
    };
    if (roll < dropRate * 2) setTimeout(send, 5);
    else send();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    close: () => {
      closed = true;
      socket.close();
    },
    dropped: () => dropped,
    largest,
  };
}

describe('quic transport: data', () => {
  it('dials, reports addresses, and echoes many messages in order both ways', async () => {
    const { listener, accepted } = await listen();
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    assert.equal(conn.network, 'quic');
    assert.equal(conn.remoteAddress, listener.address);
    assert.match(conn.localAddress, /^127\.0\.0\.1:\d+$/);
    const serverConn = await accepted;
    assert.equal(serverConn.remoteAddress, conn.localAddress);

    const count = 2000;
    const received: number[] = [];
    const done = new Promise<void>((resolve) => {
      conn.onData(
        framer((payload) => {
          received.push(payload.readUInt32BE(0));
          assert.equal(payload.length, 4 + (payload.readUInt32BE(0) % 300));
          if (received.length === count) resolve();
        }),
      );
    });
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(4 + (i % 300), i & 0xff);
      payload.writeUInt32BE(i, 0);
      conn.write(frame(payload));
    }
    await withTimeout(done, 10_000, 'echoes');
    assert.deepEqual(received, Array.from({ length: count }, (_, i) => i));
    conn.destroy();
    await listener.close();
  });

  it('carries a 4 MiB payload each way, with backpressure and drain', async () => {
    const size = 4 * 1024 * 1024;
    const toServer = randomBytes(size);
    const toClient = randomBytes(size);
    const { listener, accepted } = await listen(() => {});
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    const atClient = collect(conn, size);

    let drains = 0;
    conn.onDrain(() => drains++);
    const accepted1 = conn.write(toServer);
    assert.equal(accepted1, false, 'a 4 MiB write is over the high-water mark');

    const serverConn = await accepted;
    const atServer = await withTimeout(collect(serverConn, size), 20_000, 'client→server payload');
    assert.equal(createHash('sha256').update(atServer).digest('hex'), createHash('sha256').update(toServer).digest('hex'));
    assert.equal(drains, 1);

    // The other way, in uneven pieces.
    for (let offset = 0; offset < size; ) {
      const piece = Math.min(size - offset, 1 + Math.floor(Math.random() * 200_000));
      serverConn.write(toClient.subarray(offset, offset + piece));
      offset += piece;
    }
    const gotAtClient = await withTimeout(atClient, 20_000, 'server→client payload');
    assert.ok(gotAtClient.equals(toClient));
    conn.destroy();
    await listener.close();
  });

  it('keeps the stream intact with 128 concurrent writers interleaving', async () => {
    const { listener } = await listen();
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    const writers = 128;
    const perWriter = 40;
    const next = new Array<number>(writers).fill(0);
    let total = 0;
    const done = new Promise<void>((resolve, reject) => {
      conn.onData(
        framer((payload) => {
          const writer = payload.readUInt16BE(0);
          const seq = payload.readUInt32BE(2);
          const fill = payload[6]!;
          try {
            assert.equal(seq, next[writer], `writer ${writer} out of order`);
            assert.equal(fill, (writer + seq) & 0xff);
            for (let i = 6; i < payload.length; i++) if (payload[i] !== fill) throw new Error('corrupted payload');
          } catch (error) {
            reject(error as Error);
            return;
          }
          next[writer]!++;
          if (++total === writers * perWriter) resolve();
        }),
      );
    });
    const writer = async (id: number): Promise<void> => {
      for (let seq = 0; seq < perWriter; seq++) {
        const payload = Buffer.alloc(6 + 1 + ((id * 37 + seq * 101) % 3000), (id + seq) & 0xff);
        payload.writeUInt16BE(id, 0);
        payload.writeUInt32BE(seq, 2);
        conn.write(frame(payload));
        // Interleave: some writers yield to microtasks, some to the event loop.
        if ((id + seq) % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
        else await Promise.resolve();
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, id) => writer(id)));
    await withTimeout(done, 20_000, 'all frames');
    conn.destroy();
    await listener.close();
  });

  it('recovers from lost and reordered datagrams (5% loss each way)', async () => {
    // A short idle timeout: the client's CONNECTION_CLOSE may be among the dropped datagrams.
    const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: serverTls(), quic: { idleTimeoutMs: 2000 } }, echo);
    const relay = await lossyRelay(listener.address, 0.05);
    try {
      const conn = await quicTransport.dial('quic', relay.address, { tls: clientTls() });
      const size = 1024 * 1024;
      const payload = randomBytes(size);
      const got = collect(conn, size);
      for (let offset = 0; offset < size; offset += 1000) conn.write(payload.subarray(offset, offset + 1000));
      assert.ok((await withTimeout(got, 30_000, 'echo through the lossy relay')).equals(payload));
      assert.ok(relay.dropped() > 0, 'the relay dropped datagrams');
      conn.destroy();
    } finally {
      relay.close();
      await listener.close();
    }
  });

  it('sends datagrams of up to loopbackDatagramSize (16 KiB by default) to a loopback peer', async () => {
    const largestSeen = async (quic: { loopbackDatagramSize?: number }): Promise<{ fromClient: number; fromServer: number }> => {
      const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: serverTls(), quic }, echo);
      const relay = await lossyRelay(listener.address, 0);
      try {
        const conn = await quicTransport.dial('quic', relay.address, { tls: clientTls(), quic });
        const payload = randomBytes(256 * 1024);
        const got = collect(conn, payload.length);
        conn.write(payload);
        assert.ok((await withTimeout(got, 20_000, 'the echo')).equals(payload));
        conn.destroy();
        return { ...relay.largest };
      } finally {
        relay.close();
        await listener.close();
      }
    };
    const large = await largestSeen({});
    for (const size of [large.fromClient, large.fromServer]) assert.ok(size > 1350 && size <= 16 * 1024, `datagram of ${size} bytes`);
    const small = await largestSeen({ loopbackDatagramSize: 1350 });
    for (const size of [small.fromClient, small.fromServer]) assert.ok(size <= 1350, `datagram of ${size} bytes`);
  });

  it('end() flushes everything written before closing, and both sides see a clean close', async () => {
    const size = 2 * 1024 * 1024;
    const payload = randomBytes(size);
    const { listener, accepted } = await listen(() => {});
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    const clientClosed = closeOf(conn);
    conn.write(payload);
    conn.end();
    const serverConn = await accepted;
    const serverClosed = closeOf(serverConn);
    const chunks: Buffer[] = [];
    serverConn.onData((chunk) => chunks.push(Buffer.from(chunk)));
    assert.equal(await withTimeout(serverClosed, 10_000, 'server close'), undefined);
    assert.ok(Buffer.concat(chunks).equals(payload));
    assert.equal(await withTimeout(clientClosed, 10_000, 'client close'), undefined);
    assert.equal(conn.closed, true);
    assert.equal(serverConn.closed, true);
    await listener.close();
  });
});

describe('quic transport: closing', () => {
  it('server end() → the client sees onClose without error', async () => {
    const { listener, accepted } = await listen(() => {});
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    const clientClosed = closeOf(conn);
    let got = '';
    conn.onData((chunk) => (got += Buffer.from(chunk).toString()));
    conn.write(Buffer.from('hello'));
    const serverConn = await accepted;
    serverConn.onData(() => {
      serverConn.write(Buffer.from('bye!!'));
      serverConn.end();
    });
    serverConn.onClose(() => {});
    assert.equal(await withTimeout(clientClosed, 5000, 'client onClose'), undefined);
    assert.equal(got, 'bye!!');
    assert.equal(conn.closed, true);
    await listener.close();
  });

  it('server destroy(error) → the client sees onClose with a typed QUIC error', async () => {
    const { listener, accepted } = await listen(() => {});
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    const clientClosed = closeOf(conn);
    conn.write(Buffer.from('x'));
    const serverConn = await accepted;
    const serverClosed = closeOf(serverConn);
    serverConn.destroy(new Error('boom'));
    const serverError = await serverClosed;
    assert.equal(serverError?.message, 'boom');
    const error = (await withTimeout(clientClosed, 5000, 'client onClose')) as { code?: string; isApp?: boolean; remote?: boolean };
    assert.equal(error?.code, 'ERR_RPCX_QUIC_PEER_CLOSED');
    assert.equal(error.isApp, true);
    assert.equal(error.remote, true);
    await listener.close();
  });

  it('client destroy() → the server side sees onClose', async () => {
    const { listener, accepted } = await listen(() => {});
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    conn.write(Buffer.from('x'));
    const serverConn = await accepted;
    const serverClosed = closeOf(serverConn);
    let clientCloseCalls = 0;
    conn.onClose(() => clientCloseCalls++);
    conn.destroy();
    assert.equal(conn.closed, true);
    assert.equal(await withTimeout(serverClosed, 5000, 'server onClose'), undefined);
    assert.equal(serverConn.closed, true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(clientCloseCalls, 1);
    // Writes after close are dropped, not thrown.
    assert.equal(conn.write(Buffer.from('late')), true);
    await listener.close();
  });

  it('a Conn accepted before listener.close() keeps working; new dials are not answered', async () => {
    const { listener, accepted } = await listen();
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    conn.write(Buffer.from('a'));
    await accepted;
    await listener.close();
    const got = collect(conn, 4);
    conn.write(Buffer.from('bcd'));
    assert.equal((await withTimeout(got, 5000, 'echo after listener close')).toString(), 'abcd');
    await assert.rejects(quicTransport.dial('quic', listener.address, { tls: clientTls(), connectTimeoutMs: 300 }), {
      code: 'ERR_RPCX_DIAL',
    });
    conn.destroy();
  });

  it('closes idle connections after the idle timeout with a typed error', async () => {
    const quic = { idleTimeoutMs: 300, keepAliveMs: 0 };
    let serverConn: Conn | undefined;
    const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: serverTls(), quic }, (c) => {
      serverConn = c;
      c.onClose(() => {});
    });
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls(), quic });
    const started = performance.now();
    const error = (await withTimeout(closeOf(conn), 5000, 'idle close')) as { code?: string } | undefined;
    const elapsed = performance.now() - started;
    assert.equal(error?.code, 'ERR_RPCX_QUIC_IDLE_TIMEOUT');
    assert.ok(elapsed >= 200 && elapsed < 3000, `closed after ${elapsed} ms`);
    assert.ok(serverConn);
    await listener.close();
  });

  it('keep-alive holds an idle connection open past the idle timeout', async () => {
    const quic = { idleTimeoutMs: 400 };
    const { listener } = await (async () => {
      const l = await quicTransport.listen('quic', '127.0.0.1:0', { tls: serverTls(), quic }, echo);
      return { listener: l };
    })();
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls(), quic });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(conn.closed, false);
    const got = collect(conn, 2);
    conn.write(Buffer.from('ok'));
    assert.equal((await withTimeout(got, 2000, 'echo')).toString(), 'ok');
    conn.destroy();
    await listener.close();
  });

  it('works with stateless retry enabled on the server', async () => {
    const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: serverTls(), quic: { retry: true } }, echo);
    const conn = await quicTransport.dial('quic', listener.address, { tls: clientTls() });
    const got = collect(conn, 5);
    conn.write(Buffer.from('retry'));
    assert.equal((await withTimeout(got, 5000, 'echo')).toString(), 'retry');
    conn.destroy();
    await listener.close();
  });

  it('serves many connections on one listener', async () => {
    const { listener } = await listen();
    const conns = await Promise.all(Array.from({ length: 20 }, () => quicTransport.dial('quic', listener.address, { tls: clientTls() })));
    await Promise.all(
      conns.map(async (conn, i) => {
        const text = `conn-${i}`;
        const got = collect(conn, text.length);
        conn.write(Buffer.from(text));
        assert.equal((await withTimeout(got, 5000, 'echo')).toString(), text);
      }),
    );
    for (const conn of conns) conn.destroy();
    await listener.close();
  });
});
