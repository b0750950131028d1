// A Go peer for rpcx's file transfer and stream service, written from rpcx v1.9.x's behaviour (not its code): the
// share structs with the field names and tags of share/share.go, encoded by vmihailenco/msgpack v5 with its default
// encoder and decoder (as rpcx's MsgpackCodec does), inside rpcx frames built here byte by byte. It plays Go's
// xClient (SendFile, DownloadFile, Stream) or Go's server side (TransferFile/DownloadFile token calls and the data
// listener reading a 32-byte token). Built with GO111MODULE=off against Debian's Go packages.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

type FileTransferArgs struct {
	FileName string            `json:"file_name,omitempty"`
	FileSize int64             `json:"file_size,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
}

type FileTransferReply struct {
	Token []byte `json:"token,omitempty"`
	Addr  string `json:"addr,omitempty"`
}

type DownloadFileArgs struct {
	FileName string            `json:"file_name,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
}

type StreamServiceArgs struct {
	Meta map[string]string `json:"meta,omitempty"`
}

type frame struct {
	flags   byte
	seq     uint64
	service string
	method  string
	meta    map[string]string
	payload []byte
}

func putString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// writeFrame writes an rpcx v1.9 frame: magic, version, flags, serialize type 3 (msgpack) << 4, seq, body length, body.
func writeFrame(w io.Writer, f frame) error {
	var meta []byte
	for k, v := range f.meta {
		meta = putString(meta, k)
		meta = putString(meta, v)
	}
	var body []byte
	body = putString(body, f.service)
	body = putString(body, f.method)
	body = binary.BigEndian.AppendUint32(body, uint32(len(meta)))
	body = append(body, meta...)
	body = binary.BigEndian.AppendUint32(body, uint32(len(f.payload)))
	body = append(body, f.payload...)
	head := []byte{0x08, 0, f.flags, 3 << 4}
	head = binary.BigEndian.AppendUint64(head, f.seq)
	head = binary.BigEndian.AppendUint32(head, uint32(len(body)))
	_, err := w.Write(append(head, body...))
	return err
}

func readFrame(r *bufio.Reader) (frame, error) {
	head := make([]byte, 16)
	if _, err := io.ReadFull(r, head); err != nil {
		return frame{}, err
	}
	body := make([]byte, binary.BigEndian.Uint32(head[12:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return frame{}, err
	}
	take := func() []byte {
		n := binary.BigEndian.Uint32(body)
		s := body[4 : 4+n]
		body = body[4+n:]
		return s
	}
	f := frame{flags: head[2], seq: binary.BigEndian.Uint64(head[4:]), meta: map[string]string{}}
	f.service = string(take())
	f.method = string(take())
	meta := take()
	for len(meta) > 0 {
		kn := binary.BigEndian.Uint32(meta)
		k := string(meta[4 : 4+kn])
		meta = meta[4+kn:]
		vn := binary.BigEndian.Uint32(meta)
		f.meta[k] = string(meta[4 : 4+vn])
		meta = meta[4+vn:]
	}
	f.payload = take()
	return f, nil
}

// call makes one msgpack call as Go's client does and decodes the reply into reply.
func call(addr, service, method string, args, reply interface{}) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	payload, err := msgpack.Marshal(args)
	if err != nil {
		return err
	}
	if err := writeFrame(conn, frame{seq: 1, service: service, method: method, payload: payload}); err != nil {
		return err
	}
	res, err := readFrame(bufio.NewReader(conn))
	if err != nil {
		return err
	}
	if res.flags&0x03 != 0 {
		return fmt.Errorf("remote error: %s", res.meta["__rpcx_error__"])
	}
	return msgpack.Unmarshal(res.payload, reply)
}

func dialData(reply *FileTransferReply) (net.Conn, error) {
	conn, err := net.Dial("tcp", reply.Addr)
	if err != nil {
		return nil, err
	}
	_, err = conn.Write(reply.Token)
	return conn, err
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	switch os.Args[1] {
	case "upload": // upload <rpcx addr> <file>
		data, err := os.ReadFile(os.Args[3])
		must(err)
		reply := &FileTransferReply{}
		must(call(os.Args[2], "_filetransfer", "TransferFile", FileTransferArgs{FileName: filepath.Base(os.Args[3]), FileSize: int64(len(data)), Meta: map[string]string{"by": "go"}}, reply))
		conn, err := dialData(reply)
		must(err)
		_, err = conn.Write(data)
		must(err)
		conn.Close()
		fmt.Printf("token %d\n", len(reply.Token))
	case "download": // download <rpcx addr> <name>: the bytes on stdout
		reply := &FileTransferReply{}
		must(call(os.Args[2], "_filetransfer", "DownloadFile", DownloadFileArgs{FileName: os.Args[3]}, reply))
		conn, err := dialData(reply)
		must(err)
		_, err = io.Copy(os.Stdout, conn)
		must(err)
	case "stream": // stream <rpcx addr> <text>: writes text, half-closes, prints what comes back
		reply := &FileTransferReply{}
		must(call(os.Args[2], "_streamservice", "Stream", StreamServiceArgs{Meta: map[string]string{"name": "go"}}, reply))
		conn, err := dialData(reply)
		must(err)
		_, err = conn.Write([]byte(os.Args[3]))
		must(err)
		conn.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(conn)
		must(err)
		fmt.Print(string(out))
	case "call": // call <rpcx addr> <service> <method>: a plain call with an empty struct, prints the reply or error
		var reply interface{}
		if err := call(os.Args[2], os.Args[3], os.Args[4], struct{ N int }{N: 1}, &reply); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("reply %v\n", reply)
	case "server": // server <dir>: token calls on one port, data connections on another
		serve(os.Args[2])
	}
}

type ticket struct {
	upload   *FileTransferArgs
	download *DownloadFileArgs
	stream   *StreamServiceArgs
}

func serve(dir string) {
	var mu sync.Mutex
	tokens := map[string]ticket{}
	data, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	rpc, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go func() {
		for {
			conn, err := data.Accept()
			if err != nil {
				return
			}
			token := make([]byte, 32)
			if _, err := io.ReadFull(conn, token); err != nil {
				conn.Close()
				continue
			}
			mu.Lock()
			t, ok := tokens[string(token)]
			delete(tokens, string(token))
			mu.Unlock()
			if !ok {
				conn.Close()
				continue
			}
			go func() {
				defer conn.Close()
				if t.stream != nil { // an echo, prefixed with the Meta the token call carried
					fmt.Fprintf(conn, "go heard %v: ", t.stream.Meta)
					io.Copy(conn, conn)
					return
				}
				if t.upload != nil {
					f, err := os.Create(filepath.Join(dir, filepath.Base(t.upload.FileName)))
					must(err)
					io.Copy(f, conn)
					f.Close()
					os.WriteFile(filepath.Join(dir, filepath.Base(t.upload.FileName)+".args"), []byte(fmt.Sprintf("%s %d %v", t.upload.FileName, t.upload.FileSize, t.upload.Meta)), 0o644)
				} else {
					f, err := os.Open(filepath.Join(dir, filepath.Base(t.download.FileName)))
					if err != nil {
						return
					}
					io.Copy(conn, f)
					f.Close()
				}
			}()
		}
	}()
	fmt.Printf("listening tcp@%s\n", rpc.Addr())
	for {
		conn, err := rpc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			r := bufio.NewReader(conn)
			for {
				req, err := readFrame(r)
				if err != nil {
					return
				}
				token := make([]byte, 32)
				rand.Read(token)
				var t ticket
				switch req.method {
				case "TransferFile":
					args := &FileTransferArgs{}
					must(msgpack.Unmarshal(req.payload, args))
					t.upload = args
				case "DownloadFile":
					args := &DownloadFileArgs{}
					must(msgpack.Unmarshal(req.payload, args))
					t.download = args
				case "Stream":
					args := &StreamServiceArgs{}
					must(msgpack.Unmarshal(req.payload, args))
					t.stream = args
				}
				mu.Lock()
				tokens[string(token)] = t
				mu.Unlock()
				// StreamServiceReply has the same fields as FileTransferReply.
				payload, _ := msgpack.Marshal(&FileTransferReply{Token: token, Addr: data.Addr().String()})
				writeFrame(conn, frame{flags: 0x80, seq: req.seq, service: req.service, method: req.method, payload: payload})
			}
		}()
	}
}
