/**
 * File ⇄ socket copies through a few reused buffers, for the file transfer's path-based ends (client `sendFile(path)`
 * and `downloadFile(name, path)`, a server's `dir` or an `open` handler that returns a path).
 *
 * Why: a file or socket stream allocates a fresh buffer for every read. On a transfer of gigabytes those dead buffers
 * are memory outside V8's heap that a GC frees only once tens of MB of them have piled up, which is most of the RSS a
 * transfer costs. Where rpcx-ts owns both the file and the socket it reads into the same buffers again, once the
 * previous write from them has finished, so a transfer allocates nothing per chunk.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import net from 'node:net';

/** The size of one reused buffer. */
export const PUMP_CHUNK = 64 * 1024;

/** Writes `chunk` and resolves once the socket is done with it (its bytes handed to the kernel or TLS). */
function written(socket: net.Socket, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Sends the file at `path` on `socket` (which it does not end), reading the next chunk while the previous one is being
 * written, with two buffers in turn. Resolves with the bytes sent.
 */
export async function sendFileOn(socket: net.Socket, path: string, progress?: (bytes: number) => void): Promise<number> {
  const file = await open(path, 'r');
  const buffers = [Buffer.allocUnsafeSlow(PUMP_CHUNK), Buffer.allocUnsafeSlow(PUMP_CHUNK)];
  let total = 0;
  let writing: Promise<void> | undefined;
  try {
    for (let turn = 0; ; turn ^= 1) {
      // This buffer's last write was awaited one turn ago.
      const buffer = buffers[turn]!;
      const { bytesRead } = await file.read(buffer, 0, PUMP_CHUNK, null);
      await writing;
      if (bytesRead === 0) break;
      if (socket.destroyed) throw new Error('socket closed');
      writing = written(socket, buffer.subarray(0, bytesRead));
      writing.catch(() => undefined);
      total += bytesRead;
      progress?.(total);
    }
  } finally {
    await file.close();
  }
  return total;
}

/**
 * `net.connect` options that read the socket into one reused buffer and write each chunk to `file` before the next
 * read (the socket pauses meanwhile). `done` settles when the peer has ended and everything is written, or on the
 * first error. Plain TCP only (TLS sockets do not take `onread`).
 */
export function receiveIntoFile(file: FileHandle, progress?: (bytes: number) => void): { onread: net.OnReadOpts; attach(socket: net.Socket): Promise<number> } {
  const buffer = Buffer.allocUnsafeSlow(PUMP_CHUNK);
  let socket: net.Socket | undefined;
  let total = 0;
  let writing: Promise<unknown> = Promise.resolve();
  let fail: ((error: Error) => void) | undefined;
  const onread: net.OnReadOpts = {
    buffer,
    callback: (bytes, chunk) => {
      total += bytes;
      progress?.(total);
      writing = file.write(chunk, 0, bytes, null).then(
        () => socket?.resume(),
        (error: Error) => fail?.(error),
      );
      return false; // paused until the write is done: `buffer` is reused by the next read
    },
  };
  return {
    onread,
    attach(s) {
      socket = s;
      return new Promise<number>((resolve, reject) => {
        fail = reject;
        s.once('end', () => void writing.then(() => resolve(total), reject));
        s.once('error', reject);
        s.once('close', () => void writing.then(() => (s.readableEnded ? resolve(total) : reject(new Error('connection closed before the end of the file')))));
      });
    },
  };
}
