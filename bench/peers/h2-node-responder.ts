/**
 * The least a gRPC unary echo costs on Node's own `http2`: one stream listener, the request message echoed back with
 * precomputed headers (no date), one write and the trailers. Bench-only: it answers every path the same. Shows how far
 * any server built on `node:http2` can go, beside the raw responder (h2-ideal-responder.ts) that skips `http2`.
 */
import http2 from 'node:http2';

const HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
const TRAILERS = { 'grpc-status': '0' };
const RESPOND_OPTIONS = { waitForTrailers: true, sendDate: false };

function sendTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(TRAILERS);
}

const server = http2.createServer({ settings: { initialWindowSize: 0x3fffffff } });
server.on('session', (session) => session.setLocalWindowSize(0x3fffffff));
server.on('stream', (stream) => {
  let body: Buffer | undefined;
  stream.on('data', (chunk: Buffer) => (body = body === undefined ? chunk : Buffer.concat([body, chunk])));
  stream.on('end', () => {
    stream.respond(HEADERS, RESPOND_OPTIONS);
    stream.once('wantTrailers', sendTrailers);
    stream.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as import('node:net').AddressInfo;
  process.stdout.write(`listening tcp@127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
