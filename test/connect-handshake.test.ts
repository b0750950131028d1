import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyRequestHead, CONNECT_ANSWER, CONNECT_REQUEST, MAX_CONNECT_HEAD, parseConnectAnswer } from '../transport/connect-handshake.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('CONNECT handshake parser', () => {
  it('writes the request and answer exactly as rpcx (Go) does', () => {
    assert.equal(CONNECT_REQUEST.toString('latin1'), 'CONNECT /_rpcx_ HTTP/1.0\n\n');
    assert.equal(CONNECT_ANSWER.toString('latin1'), 'HTTP/1.0 200 Connected to rpcx\n\n');
  });

  it('recognises the request fed one byte at a time, and where the binary stream starts', () => {
    const wire = Buffer.concat([CONNECT_REQUEST, Buffer.from([0x08, 0x00])]);
    for (let n = 1; n < CONNECT_REQUEST.length; n++) assert.deepEqual(classifyRequestHead(wire.subarray(0, n)), { kind: 'partial' }, `after ${n} bytes`);
    assert.deepEqual(classifyRequestHead(wire), { kind: 'connect', headEnd: CONNECT_REQUEST.length });
  });

  it('accepts CRLF line ends and headers, as an HTTP/1.1 client would send them', () => {
    const head = 'CONNECT /_rpcx_ HTTP/1.1\r\nHost: example\r\n\r\n';
    assert.deepEqual(classifyRequestHead(bytes(head)), { kind: 'connect', headEnd: head.length });
  });

  it('calls anything else "other" as soon as a byte differs', () => {
    assert.deepEqual(classifyRequestHead(bytes('G')), { kind: 'other' });
    assert.deepEqual(classifyRequestHead(bytes('CONNECT /other HTTP/1.0\n\n')), { kind: 'other' });
    assert.deepEqual(classifyRequestHead(bytes('CONNECT /_rpcx_ HTTP/2')), { kind: 'other' });
  });

  it('gives up on a head longer than MAX_CONNECT_HEAD', () => {
    const head = bytes(`CONNECT /_rpcx_ HTTP/1.0\nX-Pad: ${'a'.repeat(MAX_CONNECT_HEAD)}`);
    assert.deepEqual(classifyRequestHead(head), { kind: 'oversized' });
  });

  it('parses the answer: connected, refused with its status line, partial, oversized', () => {
    const wire = Buffer.concat([CONNECT_ANSWER, Buffer.from([0x08])]);
    assert.deepEqual(parseConnectAnswer(wire.subarray(0, 10)), { kind: 'partial' });
    assert.deepEqual(parseConnectAnswer(wire), { kind: 'connected', headEnd: CONNECT_ANSWER.length });
    assert.deepEqual(parseConnectAnswer(bytes('HTTP/1.1 200 Connected to rpcx\r\n\r\n')), { kind: 'connected', headEnd: 34 });
    assert.deepEqual(parseConnectAnswer(bytes('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n')), {
      kind: 'refused',
      statusLine: 'HTTP/1.1 405 Method Not Allowed',
    });
    assert.deepEqual(parseConnectAnswer(bytes('x'.repeat(MAX_CONNECT_HEAD + 1))), { kind: 'oversized' });
  });
});
