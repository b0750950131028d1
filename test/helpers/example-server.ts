/** A Server with the example services on a free loopback port. */
import { Server, type ServerOptions } from '../../index.js';
import { Arith, Echo } from '../../examples/services/index.js';
import { silentLogger } from '../../logger.js';

export async function startExampleServer(options: ServerOptions = {}, endpoint = 'tcp@127.0.0.1:0'): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ logger: silentLogger, ...options });
  server.register(Arith);
  server.register(Echo);
  const listener = await server.serve(endpoint);
  return { server, endpoint: `${listener.network}@${listener.address}` };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}
