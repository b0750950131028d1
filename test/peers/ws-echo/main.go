// An rpcx-frame answering peer on golang.org/x/net/websocket, the WebSocket package Go rpcx's `ws` listener uses.
// It serves at /_rpcx_ through websocket.Handler, whose handshake refuses a request without an Origin header (as
// Go rpcx's does), and sends binary frames as Go rpcx's ServeWS does. Every request frame is answered with the same
// frame turned into a response (payload, metadata and seq unchanged); oneway frames get no answer. A request to
// Peer.Push is first answered with a server push (a oneway request Peer.Pushed carrying the same payload). With
// -cert and -key it serves wss.
//
// Built in GOPATH mode from Debian's golang-golang-x-net-dev (no module download):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o wspeer main.go
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"golang.org/x/net/websocket"
)

const (
	magic        = 0x08
	headerLength = 16
	flagResponse = 0x80
	flagOneway   = 0x20
	maxFrame     = 64 << 20
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "TLS certificate (PEM): serve wss")
	key := flag.String("key", "", "TLS key (PEM)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/_rpcx_", websocket.Handler(serve))
	fmt.Println("listening", ln.Addr().String())
	if *cert != "" {
		err = http.ServeTLS(ln, mux, *cert, *key)
	} else {
		err = http.Serve(ln, mux)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func serve(conn *websocket.Conn) {
	conn.PayloadType = websocket.BinaryFrame
	defer conn.Close()
	reader := bufio.NewReader(conn)
	for {
		frame, err := readFrame(reader)
		if err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "read:", err)
			}
			return
		}
		if frame[2]&flagOneway != 0 {
			continue
		}
		if service, method := names(frame); service == "Peer" && method == "Push" {
			if _, err := conn.Write(push(frame)); err != nil {
				return
			}
		}
		frame[2] |= flagResponse
		if _, err := conn.Write(frame); err != nil {
			return
		}
	}
}

// readFrame reads one rpcx frame: the 16-byte header, then the body of the length the header announces.
func readFrame(r io.Reader) ([]byte, error) {
	header := make([]byte, headerLength)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, err
	}
	if header[0] != magic {
		return nil, fmt.Errorf("bad magic 0x%02x", header[0])
	}
	length := binary.BigEndian.Uint32(header[12:16])
	if length > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes is over the limit", length)
	}
	frame := make([]byte, headerLength+int(length))
	copy(frame, header)
	if _, err := io.ReadFull(r, frame[headerLength:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// field reads one length-prefixed field of the body at offset, returning it and the next offset.
func field(frame []byte, offset int) ([]byte, int) {
	if offset+4 > len(frame) {
		return nil, len(frame)
	}
	n := int(binary.BigEndian.Uint32(frame[offset:]))
	end := offset + 4 + n
	if end > len(frame) {
		return nil, len(frame)
	}
	return frame[offset+4 : end], end
}

func names(frame []byte) (string, string) {
	service, next := field(frame, headerLength)
	method, _ := field(frame, next)
	return string(service), string(method)
}

// push builds a oneway request Peer.Pushed with no metadata and the request's payload, as Go rpcx's SendMessage does.
func push(request []byte) []byte {
	_, offset := field(request, headerLength)
	_, offset = field(request, offset)
	_, offset = field(request, offset)
	payload, _ := field(request, offset)
	body := []byte{}
	for _, part := range [][]byte{[]byte("Peer"), []byte("Pushed"), nil, payload} {
		body = binary.BigEndian.AppendUint32(body, uint32(len(part)))
		body = append(body, part...)
	}
	out := make([]byte, headerLength, headerLength+len(body))
	out[0] = magic
	out[2] = flagOneway
	out[3] = request[3]
	binary.BigEndian.PutUint32(out[12:16], uint32(len(body)))
	return append(out, body...)
}
