/**
 * Helpers for KCP end-to-end tests: an echo server on our transport and a framed request/response client
 * (4-byte big-endian length + payload, as the kcp-go echo peer's load client uses).
 */
import { kcpTransport } from '../../transport/kcp.js';
import type { Conn, Listener } from '../../transport/transport.js';

export async function startEchoServer(options: Record<string, unknown>): Promise<{ listener: Listener; conns: Conn[] }> {
  const conns: Conn[] = [];
  const listener = await kcpTransport.listen('kcp', '127.0.0.1:0', options, (conn) => {
    conns.push(conn);
    conn.onData((chunk) => conn.write(chunk));
    conn.onClose(() => {});
  });
  return { listener, conns };
}

/** Reassembles 4-byte-length-prefixed frames from a byte stream. */
export class FrameReader {
  #buf = Buffer.alloc(0);
  constructor(private readonly onFrame: (frame: Buffer) => void) {}
  push(chunk: Uint8Array): void {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 4) {
      const size = this.#buf.readUInt32BE(0);
      if (this.#buf.length < 4 + size) break;
      this.onFrame(this.#buf.subarray(4, 4 + size));
      this.#buf = this.#buf.subarray(4 + size);
    }
  }
}

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** Payload i: its index, then a deterministic pattern, `size` bytes in all. */
export function numbered(i: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let k = 0; k < size; k++) out[k] = (i * 7 + k) & 255;
  out.writeUInt32BE(i, 0);
  return out;
}

/** Writes `bytes` in one write; resolves with what came back once as many bytes have (an echo peer's answer). */
export function echoBulk(conn: Conn, bytes: Uint8Array): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const done = new Promise<Buffer>((resolve) =>
    conn.onData((c) => {
      chunks.push(c);
      total += c.length;
      if (total >= bytes.length) resolve(Buffer.concat(chunks));
    }),
  );
  conn.write(bytes);
  return done;
}

/**
 * Sends `count` framed messages with at most `window` outstanding and checks every echo arrives intact and in order.
 * Resolves with calls per second.
 */
export function echoRun(conn: Conn, count: number, size: number, window: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    const start = performance.now();
    const timer = setTimeout(() => reject(new Error(`echo run timed out: ${received}/${count} echoed`)), timeoutMs);
    const pump = (): void => {
      while (sent < count && sent - received < window) conn.write(frame(numbered(sent++, size)));
    };
    const reader = new FrameReader((f) => {
      const expected = numbered(received, size);
      if (!f.equals(expected)) {
        clearTimeout(timer);
        reject(new Error(`echo ${received} differs (got index ${f.length >= 4 ? f.readUInt32BE(0) : -1})`));
        return;
      }
      received++;
      if (received === count) {
        clearTimeout(timer);
        resolve((count / (performance.now() - start)) * 1000);
        return;
      }
      pump();
    });
    conn.onData((chunk) => reader.push(chunk));
    conn.onClose((error) => {
      if (received < count) {
        clearTimeout(timer);
        reject(error ?? new Error('connection closed'));
      }
    });
    pump();
  });
}
