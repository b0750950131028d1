// kcp-echo: an independent KCP peer on xtaci/kcp-go, the library Go rpcx's `kcp` network uses, for interoperability
// tests and the KCP benchmark. Built by test/helpers/kcp-peer.ts with Debian's Go in GOPATH mode from the packaged
// sources (golang-github-xtaci-kcp-dev), so no module proxy is needed.
//
//	kcp-echo -mode server -addr 127.0.0.1:29900 [-crypt aes] [-ds 10 -ps 3]
//	kcp-echo -mode client -addr 127.0.0.1:29900 [-crypt aes] [-ds 10 -ps 3] [-n 10000] [-c 100] [-size 1024]
//
// The server echoes every byte of every session and prints one line containing "listening" once it is bound. The
// client sends -n frames (a 4-byte big-endian length, then -size bytes) with at most -c unanswered, reads each echo
// back, and prints one summary line "... rps=N p50_ms=X p99_ms=Y"; any error exits non-zero.
//
// Sessions are tuned as rpcx tunes KCP: fast mode (nodelay 1, interval 10 ms, resend 2, no congestion control),
// windows of 1024 segments, stream mode, no write delay, immediate ACKs. With -crypt aes the key is
// pbkdf2-sha1(-key, -salt, 4096 rounds, 32 bytes), rpcx's defaults being "rpcx-key" and "rpcx-salt". A peer with other
// crypt or FEC settings gets no answer: its packets fail the checksum and are dropped.
package main

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	kcp "github.com/xtaci/kcp-go"
	"golang.org/x/crypto/pbkdf2"
)

type options struct {
	mode, addr, crypt, key, salt string
	dataShards, parityShards     int
	requests, outstanding, size  int
}

func parseOptions() options {
	var o options
	flag.StringVar(&o.mode, "mode", "server", "server or client")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:29900", "UDP address to listen on or dial")
	flag.StringVar(&o.crypt, "crypt", "none", "packet encryption: none or aes")
	flag.StringVar(&o.key, "key", "rpcx-key", "pbkdf2 password of the AES key")
	flag.StringVar(&o.salt, "salt", "rpcx-salt", "pbkdf2 salt of the AES key")
	flag.IntVar(&o.dataShards, "ds", 0, "FEC data shards (0: no FEC)")
	flag.IntVar(&o.parityShards, "ps", 0, "FEC parity shards")
	flag.IntVar(&o.requests, "n", 10000, "client: frames to send")
	flag.IntVar(&o.outstanding, "c", 1, "client: frames in flight at most")
	flag.IntVar(&o.size, "size", 1024, "client: payload bytes per frame")
	flag.Parse()
	return o
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kcp-echo:", err)
	os.Exit(1)
}

func blockCrypt(o options) (kcp.BlockCrypt, error) {
	switch o.crypt {
	case "none":
		return nil, nil
	case "aes":
		return kcp.NewAESBlockCrypt(pbkdf2.Key([]byte(o.key), []byte(o.salt), 4096, 32, sha1.New))
	default:
		return nil, fmt.Errorf("unknown -crypt %q (none or aes)", o.crypt)
	}
}

// tuneLikeRpcx applies the session settings rpcx's KCP network uses.
func tuneLikeRpcx(s *kcp.UDPSession) {
	s.SetNoDelay(1, 10, 2, 1)
	s.SetWindowSize(1024, 1024)
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetACKNoDelay(true)
}

func serve(o options, crypt kcp.BlockCrypt) error {
	listener, err := kcp.ListenWithOptions(o.addr, crypt, o.dataShards, o.parityShards)
	if err != nil {
		return err
	}
	fmt.Printf("kcp-echo listening on %s (crypt %s, fec %d/%d)\n", listener.Addr(), o.crypt, o.dataShards, o.parityShards)
	for {
		session, err := listener.AcceptKCP()
		if err != nil {
			return err
		}
		tuneLikeRpcx(session)
		go func() {
			defer session.Close()
			io.Copy(session, session)
		}()
	}
}

// load pipelines frames on one session: the writer keeps at most `outstanding` frames unanswered, the reader releases
// a slot for each echo and records its round trip.
func load(o options, crypt kcp.BlockCrypt) error {
	if o.requests < 1 || o.outstanding < 1 || o.size < 0 {
		return errors.New("-n and -c must be positive, -size not negative")
	}
	session, err := kcp.DialWithOptions(o.addr, crypt, o.dataShards, o.parityShards)
	if err != nil {
		return err
	}
	defer session.Close()
	tuneLikeRpcx(session)

	frame := make([]byte, 4+o.size)
	binary.BigEndian.PutUint32(frame, uint32(o.size))
	sentAt := make(chan time.Time, o.outstanding)
	readErr := make(chan error, 1)
	roundTrips := make([]time.Duration, 0, o.requests)

	go func() {
		header := make([]byte, 4)
		body := make([]byte, o.size)
		for i := 0; i < o.requests; i++ {
			if _, err := io.ReadFull(session, header); err != nil {
				readErr <- err
				return
			}
			length := binary.BigEndian.Uint32(header)
			if int(length) != o.size {
				readErr <- fmt.Errorf("echo %d: length %d, sent %d", i, length, o.size)
				return
			}
			if _, err := io.ReadFull(session, body); err != nil {
				readErr <- err
				return
			}
			roundTrips = append(roundTrips, time.Since(<-sentAt))
		}
		readErr <- nil
	}()

	start := time.Now()
	for i := 0; i < o.requests; i++ {
		select {
		case sentAt <- time.Now():
		case err := <-readErr:
			return fmt.Errorf("reading echoes: %v", err)
		}
		if _, err := session.Write(frame); err != nil {
			return err
		}
	}
	select {
	case err := <-readErr:
		if err != nil {
			return fmt.Errorf("reading echoes: %v", err)
		}
	case <-time.After(60 * time.Second):
		return errors.New("echoes did not all arrive within 60 s")
	}
	elapsed := time.Since(start)

	sort.Slice(roundTrips, func(a, b int) bool { return roundTrips[a] < roundTrips[b] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("kcp-go client crypt=%s fec=%d/%d c=%d n=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
		o.crypt, o.dataShards, o.parityShards, o.outstanding, o.requests,
		float64(o.requests)/elapsed.Seconds(), ms(roundTrips[len(roundTrips)/2]), ms(roundTrips[len(roundTrips)*99/100]))
	return nil
}

func main() {
	o := parseOptions()
	crypt, err := blockCrypt(o)
	if err != nil {
		fail(err)
	}
	switch o.mode {
	case "server":
		err = serve(o, crypt)
	case "client":
		err = load(o, crypt)
	default:
		err = fmt.Errorf("unknown -mode %q (server or client)", o.mode)
	}
	if err != nil {
		fail(err)
	}
}
