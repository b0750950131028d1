/**
 * msgpack against the library Go rpcx uses for serialize type 3 (vmihailenco/msgpack v5, default encoder and
 * decoder, from Debian's golang-github-vmihailenco-msgpack.v5-dev; `npm test` installs it first): what Go encodes for a
 * struct with every common field type we decode to the right values, and what we encode Go decodes into the struct.
 * The Go peer is built in a temp dir from the program below.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { getCodec } from '../codec/index.js';
import { SerializeType } from '../protocol/constants.js';
import { buildGoPeer, type GoPeer } from './helpers/go-peer.js';

const run = promisify(execFile);

const PEER = `package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/vmihailenco/msgpack/v5"
)

type Inner struct{ X int }

type Record struct {
	Name  string
	Count int
	Big   int64
	Neg   int32
	Ratio float64
	F32   float32
	Ok    bool
	Data  []byte
	Tags  []string
	Inner Inner
	Attrs map[string]string
	Nil   []int
}

func main() {
	if os.Args[1] == "encode" {
		r := Record{Name: "héllo", Count: 7, Big: 1 << 40, Neg: -5, Ratio: 1.5, F32: 0.25, Ok: true,
			Data: []byte{1, 2, 255}, Tags: []string{"a", "b"}, Inner: Inner{X: 9}, Attrs: map[string]string{"k": "v"}}
		b, err := msgpack.Marshal(&r)
		if err != nil {
			panic(err)
		}
		fmt.Print(hex.EncodeToString(b))
		return
	}
	b, err := hex.DecodeString(os.Args[2])
	if err != nil {
		panic(err)
	}
	var r Record
	if err := msgpack.Unmarshal(b, &r); err != nil {
		fmt.Print("error: " + err.Error())
		os.Exit(1)
	}
	out, _ := json.Marshal(r)
	fmt.Print(string(out))
}
`;

describe('msgpack interop with Go (vmihailenco/msgpack v5, as rpcx uses it)', () => {
  let goPeer: GoPeer | undefined;
  let peer: string;

  before(async () => {
    goPeer = buildGoPeer({
      name: 'msgpack-peer',
      source: { text: PEER },
      needs: { 'github.com/vmihailenco/msgpack/v5': 'golang-github-vmihailenco-msgpack.v5-dev' },
    });
    peer = goPeer.binary;
  });
  after(() => goPeer?.remove());

  const msgpack = getCodec(SerializeType.MsgPack);

  it("decodes Go's encoding of a struct", async () => {
    const { stdout } = await run(peer, ['encode']);
    const value = msgpack.decode(Buffer.from(stdout, 'hex')) as Record<string, unknown>;
    assert.equal(value.Name, 'héllo');
    assert.equal(value.Count, 7);
    assert.equal(value.Big, 2 ** 40);
    assert.equal(value.Neg, -5);
    assert.equal(value.Ratio, 1.5);
    assert.equal(value.F32, 0.25);
    assert.equal(value.Ok, true);
    assert.deepEqual([...(value.Data as Uint8Array)], [1, 2, 255]);
    assert.deepEqual(value.Tags, ['a', 'b']);
    assert.deepEqual(value.Inner, { X: 9 });
    assert.deepEqual(value.Attrs, { k: 'v' });
    assert.equal(value.Nil, null);
  });

  it('encodes what Go decodes into the struct (int64 fields included)', async () => {
    // No F32: JavaScript numbers carry no width, so they go out as float64, which Go decodes into float64 fields but
    // refuses for float32 ones (see codec/msgpack.ts).
    const bytes = msgpack.encode({
      Name: 'héllo',
      Count: 7,
      Big: 2 ** 40,
      Neg: -5,
      Ratio: 1.5,
      Ok: true,
      Data: new Uint8Array([1, 2, 255]),
      Tags: ['a', 'b'],
      Inner: { X: 9 },
      Attrs: { k: 'v' },
      Nil: null,
    });
    const { stdout } = await run(peer, ['decode', Buffer.from(bytes).toString('hex')]);
    assert.deepEqual(JSON.parse(stdout), {
      Name: 'héllo',
      Count: 7,
      Big: 2 ** 40,
      Neg: -5,
      Ratio: 1.5,
      F32: 0,
      Ok: true,
      Data: Buffer.from([1, 2, 255]).toString('base64'),
      Tags: ['a', 'b'],
      Inner: { X: 9 },
      Attrs: { k: 'v' },
      Nil: null,
    });
  });
});
