/**
 * The fastest gRPC unary echo a client can be answered by, to find the client's own ceiling: a bench-only HTTP/2
 * responder on a bare `net` socket. It decodes nothing it does not have to (request headers are skipped, not
 * HPACK-decoded; the method path is not looked at), answers every request message with its own bytes, and sends the
 * least a gRPC client accepts: `:status 200` and `content-type` (HPACK-indexed after the first response), one DATA
 * frame, trailers with `grpc-status: 0`. Every response completed by one socket read goes out in one write.
 * Flow control: huge windows announced once (the client never waits for a WINDOW_UPDATE from us; we top the
 * connection window up rarely), and the client's connection window for our DATA is respected (queued when spent).
 * Not a server: no HPACK decoding, no CONTINUATION, replies in one DATA frame (a reply over 16 KiB, HTTP/2's
 * smallest frame size, or over the client's stream window resets its stream). Only `npm run bench` uses it.
 */
import net from 'node:net';

const PREFACE_LENGTH = 24;
const FRAME_HEADER = 9;
const enum FrameType {
  Data = 0,
  Headers = 1,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  WindowUpdate = 8,
}
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;

/** SETTINGS_MAX_FRAME_SIZE every peer accepts: each reply is one DATA frame, so it must fit. */
const MAX_FRAME = 16_384;
const INTERNAL_ERROR = 2;

/** What we announce: streams may carry 1 GiB each, so the client never waits on a stream window. */
const OUR_WINDOW = 0x3fffffff;
/** A connection WINDOW_UPDATE goes out once the client has spent this much of the connection window. */
const REFILL_AFTER = OUR_WINDOW >>> 1;

function frameHeader(target: Buffer, at: number, length: number, type: number, flags: number, stream: number): void {
  target.writeUIntBE(length, at, 3);
  target[at + 3] = type;
  target[at + 4] = flags;
  target.writeUInt32BE(stream, at + 5);
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frameHeader(out, 0, payload.length, type, flags, stream);
  payload.copy(out, FRAME_HEADER);
  return out;
}

function hpackString(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'latin1')]);
}

// First response: `:status 200` (static 8), content-type with incremental indexing (name static 31) → dynamic 62.
const FIRST_HEADERS = Buffer.concat([Buffer.from([0x88, 0x40 | 31]), hpackString('application/grpc')]);
// First trailers: grpc-status: 0 with incremental indexing, new name → dynamic 62 (content-type moves to 63).
const FIRST_TRAILERS = Buffer.concat([Buffer.from([0x40]), hpackString('grpc-status'), hpackString('0')]);
// Later ones: all indexed.
const HEADERS = Buffer.from([0x88, 0x80 | 63]);
const TRAILERS = Buffer.from([0x80 | 62]);

class Connection {
  readonly #socket: net.Socket;
  #pending: Buffer | undefined;
  #prefaceSeen = false;
  #first = true;
  /** Bytes of DATA the client still lets us send on the connection. */
  #sendWindow = 65_535;
  /** The client's initial stream window (SETTINGS_INITIAL_WINDOW_SIZE). */
  #streamWindow = 65_535;
  #received = 0;
  /** Request bytes per open stream (usually one DATA frame). */
  readonly #bodies = new Map<number, Buffer[]>();
  /** Responses that wait for connection window. */
  #queued: Array<{ stream: number; body: Buffer }> = [];
  #out: Buffer[] = [];

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(OUR_WINDOW, 2);
    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(OUR_WINDOW - 65_535, 0);
    socket.write(Buffer.concat([frame(FrameType.Settings, 0, 0, settings), frame(FrameType.WindowUpdate, 0, 0, increment)]));
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => socket.destroy());
  }

  #read(chunk: Buffer): void {
    const data = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    if (!this.#prefaceSeen) {
      if (data.length < PREFACE_LENGTH) {
        this.#pending = data;
        return;
      }
      this.#prefaceSeen = true;
      at = PREFACE_LENGTH;
    }
    while (data.length - at >= FRAME_HEADER) {
      const length = data.readUIntBE(at, 3);
      if (data.length - at < FRAME_HEADER + length) break;
      const type = data[at + 3]!;
      const flags = data[at + 4]!;
      const stream = data.readUInt32BE(at + 5) & 0x7fffffff;
      this.#frame(type, flags, stream, data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length));
      at += FRAME_HEADER + length;
    }
    this.#pending = at < data.length ? data.subarray(at) : undefined;
    this.#flush();
  }

  #frame(type: number, flags: number, stream: number, payload: Buffer): void {
    switch (type) {
      case FrameType.Headers: {
        this.#bodies.set(stream, []);
        if (flags & END_STREAM) this.#answer(stream, Buffer.alloc(0));
        return;
      }
      case FrameType.Data: {
        let body = payload;
        if (flags & PADDED) body = body.subarray(1, body.length - body[0]!);
        this.#received += payload.length;
        const parts = this.#bodies.get(stream);
        if (parts === undefined) return;
        parts.push(body);
        if (flags & END_STREAM) this.#answer(stream, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        return;
      }
      case FrameType.Settings: {
        if (flags & ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          if (payload.readUInt16BE(i) === 0x4) this.#streamWindow = payload.readUInt32BE(i + 2);
        }
        this.#out.push(frame(FrameType.Settings, ACK, 0));
        return;
      }
      case FrameType.Ping: {
        if (!(flags & ACK)) this.#out.push(frame(FrameType.Ping, ACK, 0, payload));
        return;
      }
      case FrameType.WindowUpdate: {
        if (stream === 0) this.#sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
        return;
      }
      case FrameType.RstStream: {
        this.#bodies.delete(stream);
        return;
      }
      case FrameType.GoAway: {
        this.#socket.end();
        return;
      }
      default:
        return; // PRIORITY, CONTINUATION (grpc-js never splits its small header blocks), unknown
    }
  }

  /** The request body is its gRPC message (5-byte prefix and bytes): echoed back as it is. */
  #answer(stream: number, body: Buffer): void {
    this.#bodies.delete(stream);
    if (body.length > MAX_FRAME || body.length > this.#streamWindow) {
      const code = Buffer.alloc(4);
      code.writeUInt32BE(INTERNAL_ERROR, 0);
      this.#out.push(frame(FrameType.RstStream, 0, stream, code));
      return;
    }
    if (this.#queued.length > 0 || body.length > this.#sendWindow) this.#queued.push({ stream, body });
    else this.#respond(stream, body);
  }

  #respond(stream: number, body: Buffer): void {
    this.#sendWindow -= body.length;
    const headers = this.#first ? FIRST_HEADERS : HEADERS;
    const trailers = this.#first ? FIRST_TRAILERS : TRAILERS;
    this.#first = false;
    const out = Buffer.allocUnsafe(3 * FRAME_HEADER + headers.length + body.length + trailers.length);
    let at = 0;
    frameHeader(out, at, headers.length, FrameType.Headers, END_HEADERS, stream);
    at += FRAME_HEADER + headers.copy(out, at + FRAME_HEADER);
    frameHeader(out, at, body.length, FrameType.Data, 0, stream);
    at += FRAME_HEADER + body.copy(out, at + FRAME_HEADER);
    frameHeader(out, at, trailers.length, FrameType.Headers, END_HEADERS | END_STREAM, stream);
    trailers.copy(out, at + FRAME_HEADER);
    this.#out.push(out);
  }

  #flush(): void {
    while (this.#queued.length > 0 && this.#queued[0]!.body.length <= this.#sendWindow) {
      const { stream, body } = this.#queued.shift()!;
      this.#respond(stream, body);
    }
    if (this.#received >= REFILL_AFTER) {
      const increment = Buffer.alloc(4);
      increment.writeUInt32BE(this.#received, 0);
      this.#received = 0;
      this.#out.push(frame(FrameType.WindowUpdate, 0, 0, increment));
    }
    if (this.#out.length === 0) return;
    this.#socket.write(this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out));
    this.#out = [];
  }
}

const server = net.createServer((socket) => new Connection(socket));
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`listening tcp@127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
