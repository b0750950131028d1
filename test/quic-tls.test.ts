/**
 * The quic transport's TLS: certificate verification, names and IP addresses, ALPN, mutual TLS, and the errors each
 * failure surfaces as.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { ConfigError, DialError, QuicError } from '../errors.js';
import { quicTransport } from '../transport/quic.js';
import type { Conn, Listener, TlsOptions } from '../transport/transport.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

let certs: TestCerts;
let otherCerts: TestCerts;
let dnsOnlyCerts: TestCerts;

before(() => {
  certs = createTestCerts();
  otherCerts = createTestCerts();
  dnsOnlyCerts = createTestCerts({ sans: ['DNS:localhost'] });
});

after(() => {
  certs.cleanup();
  otherCerts.cleanup();
  dnsOnlyCerts.cleanup();
});

function echo(conn: Conn): void {
  conn.onData((chunk) => conn.write(chunk));
  conn.onClose(() => {});
}

async function roundTrip(conn: Conn, text = 'ping'): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    conn.onData((chunk) => {
      got += Buffer.from(chunk).toString();
      if (got.length >= text.length) resolve(got);
    });
    conn.onClose((error) => reject(error ?? new Error('closed')));
    conn.write(Buffer.from(text));
  });
}

async function withListener(tls: TlsOptions, body: (listener: Listener) => Promise<void>): Promise<void> {
  const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls }, echo);
  try {
    await body(listener);
  } finally {
    await listener.close();
  }
}

/** Asserts a DialError whose cause is a QuicError with the given code. */
function isTlsDialError(expectedQuicCode?: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof DialError, `expected DialError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_RPCX_DIAL');
    assert.ok(error.cause instanceof QuicError, `expected a QuicError cause, got ${String(error.cause)}`);
    if (expectedQuicCode) assert.equal(error.cause.code, expectedQuicCode);
    return true;
  };
}

describe('quic transport: TLS', () => {
  it('refuses to listen without a certificate and key (TLS is required)', async () => {
    await assert.rejects(quicTransport.listen('quic', '127.0.0.1:0', {}, () => {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'ERR_RPCX_CONFIG');
      return true;
    });
    await assert.rejects(quicTransport.listen('quic', '127.0.0.1:0', { tls: { cert: certs.certPem } }, () => {}), ConfigError);
    await assert.rejects(quicTransport.listen('quic', '127.0.0.1:0', { tls: { key: certs.keyPem } }, () => {}), ConfigError);
    await assert.rejects(
      quicTransport.listen('quic', '127.0.0.1:0', { tls: { cert: 'not a pem', key: certs.keyPem } }, () => {}),
      ConfigError,
    );
  });

  it('rejects bad quic settings with a ConfigError', async () => {
    await assert.rejects(
      quicTransport.listen('quic', '127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem }, quic: { maxDatagramSize: 10 } }, () => {}),
      ConfigError,
    );
    await assert.rejects(
      quicTransport.dial('quic', '127.0.0.1:1', { tls: { insecure: true }, quic: { congestionControl: 'warp' } }),
      ConfigError,
    );
    await assert.rejects(
      quicTransport.dial('quic', '127.0.0.1:1', { tls: { insecure: true }, quic: { loopbackDatagramSize: 100_000 } }),
      ConfigError,
    );
  });

  it('verifies the server against the given CA (IP address SAN)', async () => {
    await withListener({ cert: certs.certPem, key: certs.keyPem }, async (listener) => {
      const conn = await quicTransport.dial('quic', listener.address, { tls: { ca: certs.caPem } });
      assert.equal(await roundTrip(conn), 'ping');
      conn.destroy();
    });
  });

  it('a client with the wrong CA fails to dial with a typed DialError', async () => {
    await withListener({ cert: certs.certPem, key: certs.keyPem }, async (listener) => {
      await assert.rejects(quicTransport.dial('quic', listener.address, { tls: { ca: otherCerts.caPem } }), isTlsDialError('ERR_RPCX_QUIC_TLS'));
      // Without any CA, the public roots are used, which do not know the test CA either.
      await assert.rejects(quicTransport.dial('quic', listener.address, {}), isTlsDialError('ERR_RPCX_QUIC_TLS'));
    });
  });

  it('insecure: true skips verification', async () => {
    await withListener({ cert: certs.certPem, key: certs.keyPem }, async (listener) => {
      const conn = await quicTransport.dial('quic', listener.address, { tls: { insecure: true } });
      assert.equal(await roundTrip(conn), 'ping');
      conn.destroy();
    });
  });

  it('checks the certificate name: servername, and IP addresses against IP SANs', async () => {
    await withListener({ cert: dnsOnlyCerts.certPem, key: dnsOnlyCerts.keyPem }, async (listener) => {
      // Dialed by IP, but the certificate only names localhost.
      await assert.rejects(quicTransport.dial('quic', listener.address, { tls: { ca: dnsOnlyCerts.caPem } }), isTlsDialError('ERR_RPCX_QUIC_TLS'));
      // The right servername makes it valid.
      const conn = await quicTransport.dial('quic', listener.address, { tls: { ca: dnsOnlyCerts.caPem, servername: 'localhost' } });
      assert.equal(await roundTrip(conn), 'ping');
      conn.destroy();
      // A wrong servername does not.
      await assert.rejects(
        quicTransport.dial('quic', listener.address, { tls: { ca: dnsOnlyCerts.caPem, servername: 'example.com' } }),
        isTlsDialError('ERR_RPCX_QUIC_TLS'),
      );
    });
  });

  it('dials a host name (localhost)', async () => {
    await withListener({ cert: certs.certPem, key: certs.keyPem }, async (listener) => {
      const port = listener.address.slice(listener.address.lastIndexOf(':') + 1);
      const conn = await quicTransport.dial('quic', `localhost:${port}`, { tls: { ca: certs.caPem } }).catch(async (error: unknown) => {
        // localhost may resolve to ::1 first on some hosts, where nothing listens: that is a setup fact, not a bug.
        if ((error as DialError).message.includes('ECONNREFUSED')) return undefined;
        throw error;
      });
      if (conn) {
        assert.equal(await roundTrip(conn), 'ping');
        conn.destroy();
      }
    });
  });

  it('rejects an ALPN mismatch', async () => {
    await withListener({ cert: certs.certPem, key: certs.keyPem }, async (listener) => {
      await assert.rejects(
        quicTransport.dial('quic', listener.address, { tls: { ca: certs.caPem, alpn: ['h3'] } }),
        isTlsDialError('ERR_RPCX_QUIC_TLS'),
      );
    });
    await withListener({ cert: certs.certPem, key: certs.keyPem, alpn: ['custom'] }, async (listener) => {
      await assert.rejects(quicTransport.dial('quic', listener.address, { tls: { ca: certs.caPem } }), isTlsDialError('ERR_RPCX_QUIC_TLS'));
      const conn = await quicTransport.dial('quic', listener.address, { tls: { ca: certs.caPem, alpn: ['custom'] } });
      assert.equal(await roundTrip(conn), 'ping');
      conn.destroy();
    });
  });

  it('mutual TLS: requestCert accepts a client certificate from the CA and refuses others', async () => {
    const serverTls = { cert: certs.certPem, key: certs.keyPem, ca: certs.caPem, requestCert: true };
    await withListener(serverTls, async (listener) => {
      const good = await quicTransport.dial('quic', listener.address, {
        tls: { ca: certs.caPem, cert: certs.clientCertPem, key: certs.clientKeyPem },
      });
      assert.equal(await roundTrip(good), 'ping');
      good.destroy();

      // In TLS 1.3 the client finishes its handshake before the server has checked the client certificate, so a
      // refusal arrives as the connection closing with the server's TLS alert (or as a failed dial, if it is quick).
      for (const tls of [{ ca: certs.caPem }, { ca: certs.caPem, cert: otherCerts.clientCertPem, key: otherCerts.clientKeyPem }]) {
        const outcome = await quicTransport.dial('quic', listener.address, { tls }).then(
          (conn) => roundTrip(conn).then(
            () => assert.fail('a refused client got an answer'),
            (error: unknown) => error,
          ),
          (error: unknown) => (error as DialError).cause,
        );
        assert.ok(outcome instanceof QuicError, `expected a QuicError, got ${String(outcome)}`);
        assert.equal(outcome.code, 'ERR_RPCX_QUIC_TLS');
        assert.equal(outcome.remote, true);
      }
    });
  });

  it('fails fast with a DialError when nothing listens on the port', async () => {
    const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } }, echo);
    const address = listener.address;
    await listener.close();
    const started = performance.now();
    await assert.rejects(quicTransport.dial('quic', address, { tls: { ca: certs.caPem }, connectTimeoutMs: 5000 }), DialError);
    assert.ok(performance.now() - started < 4000);
  });

  it('honours connectTimeoutMs and an AbortSignal', async () => {
    // A UDP socket that swallows every datagram: the handshake never progresses.
    const silent = dgram.createSocket('udp4');
    silent.on('message', () => {});
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    const address = `127.0.0.1:${silent.address().port}`;
    try {
      await assert.rejects(
        quicTransport.dial('quic', address, { tls: { insecure: true }, connectTimeoutMs: 200 }),
        (error: unknown) => error instanceof DialError && /timed out/.test(error.message),
      );
      const controller = new AbortController();
      const dialing = quicTransport.dial('quic', address, { tls: { insecure: true }, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(dialing, (error: unknown) => error instanceof DialError && /aborted/.test(error.message));
      await assert.rejects(quicTransport.dial('quic', address, { tls: { insecure: true }, signal: AbortSignal.abort() }), DialError);
    } finally {
      silent.close();
    }
  });
});
