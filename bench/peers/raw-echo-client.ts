/** Client side of the raw `net` ceiling: replies come back in order, so a FIFO matches them; writes are batched per tick. */
import net from 'node:net';

export class RawEchoClient {
  readonly #socket: net.Socket;
  #waiting: Array<() => void> = [];
  #pending: Buffer = Buffer.alloc(0);
  #out: Buffer[] = [];
  #scheduled = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
      let at = 0;
      while (data.length - at >= 4) {
        const length = data.readUInt32BE(at);
        if (data.length - at < 4 + length) break;
        at += 4 + length;
        this.#waiting.shift()?.();
      }
      this.#pending = data.subarray(at);
    });
  }

  static connect(port: number): Promise<RawEchoClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(new RawEchoClient(socket)));
      socket.once('error', reject);
    });
  }

  echo(message: Buffer): Promise<void> {
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(message.length);
    this.#out.push(header, message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        const out = this.#out;
        this.#out = [];
        this.#socket.write(Buffer.concat(out));
      });
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  close(): void {
    this.#socket.destroy();
  }
}
