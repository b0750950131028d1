/**
 * The ceiling: a raw `net` echo of length-prefixed messages (u32 length + bytes). All complete messages of one read
 * are answered with one write. No RPC framing, no codec, no dispatch: what the socket alone can do.
 */
import net from 'node:net';

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32BE(at);
      if (data.length - at < 4 + length) break;
      at += 4 + length;
    }
    if (at > 0) socket.write(data.subarray(0, at));
    pending = data.subarray(at);
  });
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`listening tcp@127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
