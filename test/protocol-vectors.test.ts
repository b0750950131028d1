/**
 * The captures in test/fixtures/rpcx-captures.json (annotated in rpcx-wire-samples.txt) came from a real Go rpcx v1.9.4 client and server: every byte stream must split
 * into frames with the annotated fields, and re-encoding each frame must give back the same bytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FrameParser } from '../protocol/frame-parser.js';
import { Message } from '../protocol/message.js';
import { MessageType, SerializeType, StatusType } from '../protocol/constants.js';
import { fromHex, hex } from './helpers/example-server.js';
import { fixturesDir } from './helpers/paths.js';

interface Sample {
  conn: number;
  what: string;
  direction: string;
  hex: string;
}

const captures = JSON.parse(readFileSync(join(fixturesDir, 'rpcx-captures.json'), 'utf8')) as { samples: Sample[] };

function framesOf(bytes: Uint8Array): Message[] {
  const out: Message[] = [];
  const parser = new FrameParser((m) => out.push(m));
  parser.push(bytes);
  assert.equal(parser.buffered, 0, 'no bytes left over');
  return out;
}

function reencode(messages: Message[]): string {
  return messages.map((m) => hex(m.encode())).join('');
}

describe('Go rpcx captures', () => {
  it('has samples to check', () => {
    assert.ok(captures.samples.length >= 14);
  });

  for (const sample of captures.samples) {
    it(`conn ${sample.conn} ${sample.direction}: ${sample.what} — splits and re-encodes byte for byte`, () => {
      const bytes = fromHex(sample.hex);
      const frames = framesOf(bytes);
      assert.ok(frames.length >= 1);
      const expectedType = sample.direction === 'client->server' ? MessageType.Request : MessageType.Response;
      for (const f of frames) assert.equal(f.type, expectedType);
      assert.equal(reencode(frames), sample.hex);
    });
  }

  const byConn = (conn: number, direction: string): Message[] =>
    framesOf(fromHex(captures.samples.find((s) => s.conn === conn && s.direction === direction)!.hex));

  it('conn 1: JSON Arith.Mul request and response fields', () => {
    const [request] = byConn(1, 'client->server');
    assert.equal(request!.servicePath, 'Arith');
    assert.equal(request!.serviceMethod, 'Mul');
    assert.equal(request!.serializeType, SerializeType.JSON);
    assert.equal(request!.seq, 0);
    assert.deepEqual(JSON.parse(Buffer.from(request!.payload).toString()), { A: 10, B: 20 });
    const [response] = byConn(1, 'server->client');
    assert.equal(response!.isResponse, true);
    assert.equal(response!.status, StatusType.Normal);
    assert.deepEqual(JSON.parse(Buffer.from(response!.payload).toString()), { C: 200 });
  });

  it('conn 3: metadata trace=abc', () => {
    const [request] = byConn(3, 'client->server');
    assert.deepEqual({ ...request!.metadata }, { trace: 'abc' });
  });

  it('conn 4: unknown method error response', () => {
    const [response] = byConn(4, 'server->client');
    assert.equal(response!.status, StatusType.Error);
    assert.equal(response!.metadata['__rpcx_error__'], "rpcx: can't find method Div");
    assert.equal(response!.payload.length, 0);
    assert.equal(response!.serviceMethod, 'Div');
  });

  it('conn 5: heartbeats carry the flag, continue the seq and are echoed unchanged', () => {
    const requests = byConn(5, 'client->server');
    const responses = byConn(5, 'server->client');
    assert.equal(requests.length, 3);
    assert.deepEqual(requests.map((m) => m.heartbeat), [false, true, true]);
    assert.deepEqual(requests.map((m) => m.seq), [0, 1, 2]);
    for (let i = 1; i < 3; i++) {
      assert.equal(responses[i]!.heartbeat, true);
      assert.equal(responses[i]!.isResponse, true);
      assert.equal(hex(responses[i]!.payload), hex(requests[i]!.payload));
      assert.equal(requests[i]!.servicePath, '');
    }
  });

  it('conn 7: six raw Echo frames', () => {
    const requests = byConn(7, 'client->server');
    assert.equal(requests.length, 6);
    for (const r of requests) {
      assert.equal(r.serializeType, SerializeType.None);
      assert.equal(Buffer.from(r.payload).toString(), 'x'.repeat(16));
    }
  });

  it('the primary sample of test/fixtures/rpcx-wire-samples.txt (Arith.Mul) encodes to its 55 bytes', () => {
    const m = new Message({ serializeType: SerializeType.JSON, seq: 1, servicePath: 'Arith', serviceMethod: 'Mul', payload: new TextEncoder().encode('{"A":10,"B":20}') });
    assert.equal(
      hex(m.encode()),
      '08000010000000000000000100000027000000054172697468000000034d756c000000000000000f7b2241223a31302c2242223a32307d',
    );
  });

  it('encodes a seq above 2^32 exactly', () => {
    const seq = 2 ** 40 + 7;
    const decoded = Message.decode(new Message({ seq }).encode());
    assert.equal(decoded.seq, seq);
  });

  it('round-trips non-ASCII names, metadata and every flag', () => {
    const m = new Message({
      type: MessageType.Response,
      heartbeat: true,
      oneway: true,
      compressType: 1,
      status: StatusType.Error,
      serializeType: 3,
      seq: 42,
      servicePath: 'Sérvice',
      serviceMethod: '方法',
      metadata: { 'clé': 'välue 🚀', empty: '' },
      payload: new Uint8Array([1, 2, 3]),
    });
    const d = Message.decode(m.encode());
    assert.deepEqual(
      [d.type, d.heartbeat, d.oneway, d.compressType, d.status, d.serializeType, d.seq, d.servicePath, d.serviceMethod],
      [MessageType.Response, true, true, 1, StatusType.Error, 3, 42, 'Sérvice', '方法'],
    );
    assert.deepEqual({ ...d.metadata }, { 'clé': 'välue 🚀', empty: '' });
    assert.deepEqual([...d.payload], [1, 2, 3]);
  });
});
