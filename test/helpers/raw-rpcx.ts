/** rpcx frames on raw sockets, for tests that check bytes as a Go peer would send or answer them. */
import net from 'node:net';
import { FrameParser } from '../../protocol/frame-parser.js';
import type { Message } from '../../protocol/message.js';

export function frameBytes(message: Message): Uint8Array {
  const bytes = new Uint8Array(message.encodedLength());
  message.encodeInto(bytes, 0);
  return bytes;
}

/** Sends one request frame on a new connection to `host:port` and resolves with the first frame that comes back. */
export async function rawCall(address: string, request: Message): Promise<Message> {
  const colon = address.lastIndexOf(':');
  const socket = net.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
  try {
    return await new Promise<Message>((resolve, reject) => {
      const parser = new FrameParser((m) => resolve(m), 1 << 20);
      socket.on('data', (chunk) => parser.push(chunk));
      socket.on('error', reject);
      socket.write(frameBytes(request));
    });
  } finally {
    socket.destroy();
  }
}

/** A stand-in rpcx server on 127.0.0.1: `onFrame` gets every frame and may answer with `reply(frame)`. */
export async function fakeRpcxServer(onFrame: (message: Message, reply: (answer: Message) => void) => void): Promise<{ endpoint: string; close(): void }> {
  const server = net.createServer((socket) => {
    const parser = new FrameParser((m) => onFrame(m, (answer) => socket.write(frameBytes(answer))), 1 << 20);
    socket.on('data', (c: Buffer) => parser.push(c));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { endpoint: `tcp@127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => server.close() };
}
