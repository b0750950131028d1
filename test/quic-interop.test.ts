/**
 * Interoperability with quic-go, the QUIC stack of rpcx's Go implementation, speaking as rpcx's `quic` network does
 * (github.com/smallnest/quick): TLS with ALPN `rpcx`, the client opens one bidirectional stream and the server
 * accepts it, closing a Conn closes the stream's write side.
 *
 * The Go peer below is built from Debian's packaged sources (`apt-get install golang-go
 * golang-github-lucas-clemente-quic-go-dev`, no module proxy; `npm test` installs them first); without them the suite fails.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { quicTransport } from '../transport/quic.js';
import type { Conn } from '../transport/transport.js';
import { buildGoPeer, type GoPeer } from './helpers/go-peer.js';
import { listeningEndpoints } from './helpers/processes.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

const PEER_SOURCE = `package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"

	quic "github.com/lucas-clemente/quic-go"
)

func main() {
	mode := flag.String("mode", "server", "server or client")
	addr := flag.String("addr", "127.0.0.1:0", "address")
	cert := flag.String("cert", "", "server certificate")
	key := flag.String("key", "", "server key")
	ca := flag.String("ca", "", "client: CA certificate")
	count := flag.Int("n", 1000, "client: messages")
	flag.Parse()
	if *mode == "server" {
		serve(*addr, *cert, *key)
	} else if err := call(*addr, *ca, *count); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

// serve echoes each connection's first stream; when the client finishes its side, the server closes its own.
func serve(addr, certFile, keyFile string) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		panic(err)
	}
	ln, err := quic.ListenAddr(addr, &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"rpcx"}}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("listening", ln.Addr().String())
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		go func() {
			stream, err := conn.AcceptStream(context.Background())
			if err != nil {
				return
			}
			io.Copy(stream, stream)
			stream.Close()
		}()
	}
}

// call sends numbered length-prefixed messages with up to 50 outstanding and checks every echo, in order.
func call(addr, caFile string, count int) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := quic.DialAddr(addr, &tls.Config{RootCAs: roots, NextProtos: []string{"rpcx"}}, nil)
	if err != nil {
		return err
	}
	stream, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		return err
	}
	message := func(i int) []byte {
		m := make([]byte, 8+i%2000)
		binary.BigEndian.PutUint32(m, uint32(len(m)-4))
		binary.BigEndian.PutUint32(m[4:], uint32(i))
		return m
	}
	errs := make(chan error, 1)
	go func() {
		header := make([]byte, 4)
		for i := 0; i < count; i++ {
			if _, err := io.ReadFull(stream, header); err != nil {
				errs <- err
				return
			}
			body := make([]byte, binary.BigEndian.Uint32(header))
			if _, err := io.ReadFull(stream, body); err != nil {
				errs <- err
				return
			}
			if got := int(binary.BigEndian.Uint32(body)); got != i || len(body) != 4+i%2000 {
				errs <- fmt.Errorf("echo %d: got message %d of %d bytes", i, got, len(body))
				return
			}
		}
		// After our FIN the server finishes its side: reads end with EOF.
		stream.Close()
		if n, err := stream.Read(header); err != io.EOF {
			errs <- fmt.Errorf("expected EOF after close, got %d bytes, %v", n, err)
			return
		}
		errs <- nil
	}()
	for i := 0; i < count; i++ {
		if _, err := stream.Write(message(i)); err != nil {
			return err
		}
	}
	if err := <-errs; err != nil {
		return err
	}
	fmt.Println("ok", count)
	return nil
}
`;

const run = promisify(execFile);
let goPeer: GoPeer | undefined;
let peer: string;
let certs: TestCerts;
const children: ChildProcess[] = [];

function startGoServer(): Promise<string> {
  const child = spawn(peer, ['-mode', 'server', '-cert', join(certs.dir, 'server.pem'), '-key', join(certs.dir, 'server-key.pem')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return listeningEndpoints(child, 'the quic-go server').then(([address]) => address!);
}

function frame(index: number, size: number): Buffer {
  const out = Buffer.alloc(8 + size, index & 0xff);
  out.writeUInt32BE(4 + size, 0);
  out.writeUInt32BE(index, 4);
  return out;
}

function closeOf(conn: Conn): Promise<Error | undefined> {
  return new Promise((resolve) => conn.onClose(resolve));
}

describe('quic transport: interop with quic-go', () => {
  before(async () => {
    goPeer = buildGoPeer({
      name: 'quic-peer',
      source: { text: PEER_SOURCE },
      needs: { 'github.com/lucas-clemente/quic-go': 'golang-github-lucas-clemente-quic-go-dev' },
    });
    peer = goPeer.binary;
    certs = createTestCerts();
  });

  after(() => {
    for (const child of children) child.kill();
    certs?.cleanup();
    goPeer?.remove();
  });

  it('our client ↔ quic-go server: ordered echo, a 3 MiB payload, and a clean close after end()', async () => {
    const address = await startGoServer();
    const conn = await quicTransport.dial('quic', address, { tls: { ca: certs.caPem } });
    const closed = closeOf(conn);
    const count = 1000;
    const expected = Buffer.concat([...Array.from({ length: count }, (_, i) => frame(i, i % 1500)), randomBytes(3 * 1024 * 1024)]);
    const chunks: Buffer[] = [];
    let received = 0;
    const echoed = new Promise<void>((resolve) =>
      conn.onData((chunk) => {
        chunks.push(Buffer.from(chunk));
        received += chunk.byteLength;
        if (received >= expected.length) resolve();
      }),
    );
    for (let offset = 0; offset < expected.length; offset += 50_000) conn.write(expected.subarray(offset, offset + 50_000));
    await echoed;
    assert.ok(Buffer.concat(chunks).equals(expected));
    conn.end();
    assert.equal(await closed, undefined);
  });

  it('quic-go client ↔ our server: the Go side checks every echo and sees our FIN', async () => {
    let serverClosed: Promise<Error | undefined> | undefined;
    // The Go client exits right after reading our FIN, possibly before acknowledging it: a short linger ends our side.
    const options = { tls: { cert: certs.certPem, key: certs.keyPem }, quic: { lingerMs: 500 } };
    const listener = await quicTransport.listen('quic', '127.0.0.1:0', options, (conn) => {
      conn.onData((chunk) => conn.write(chunk));
      serverClosed = closeOf(conn);
    });
    try {
      const { stdout } = await run(peer, ['-mode', 'client', '-addr', listener.address, '-ca', join(certs.dir, 'ca.pem'), '-n', '3000'], {
        timeout: 30_000,
      });
      assert.match(stdout, /^ok 3000/m);
      assert.ok(serverClosed, 'the server accepted the Go client');
      assert.equal(await serverClosed, undefined);
    } finally {
      await listener.close();
    }
  });

  it('quic-go refuses our server when it does not trust the CA, and we refuse the Go server likewise', async () => {
    const stranger = createTestCerts();
    try {
      const listener = await quicTransport.listen('quic', '127.0.0.1:0', { tls: { cert: stranger.certPem, key: stranger.keyPem } }, () => {});
      await assert.rejects(run(peer, ['-mode', 'client', '-addr', listener.address, '-ca', join(certs.dir, 'ca.pem'), '-n', '1'], { timeout: 30_000 }));
      await listener.close();
      const address = await startGoServer();
      await assert.rejects(quicTransport.dial('quic', address, { tls: { ca: stranger.caPem } }), { code: 'ERR_RPCX_DIAL' });
    } finally {
      stranger.cleanup();
    }
  });
});
