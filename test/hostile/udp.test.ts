/**
 * UDP floods: fresh KCP conversation ids cannot open sessions without bound, and random datagrams at a QUIC listener
 * are not answered (no Version Negotiation for datagrams under 1,200 bytes; never more than 3x what a source sent).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Kcp } from '../../transport/kcp/arq.js';
import { PacketPipeline } from '../../transport/kcp/packet.js';
import { createTestCerts } from '../helpers/tls-certs.js';
import { MiB, ServerProcess, sleep } from './harness.js';

/** A client's first KCP datagram (FEC 10+3, no crypt, as the default listener expects), to patch per conversation. */
function firstKcpDatagram(): Buffer {
  const out: Buffer[] = [];
  const pipeline = new PacketPipeline(undefined, 10, 3, (d) => out.push(Buffer.from(d)));
  const kcp = new Kcp(1, pipeline.output);
  kcp.reserveBytes(pipeline.headerSize);
  kcp.send(new Uint8Array([8, 0, 0, 0]));
  kcp.update();
  kcp.flush();
  kcp.update(Date.now() + 100);
  return out[0]!;
}

async function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

describe('hostile: UDP floods', () => {
  let server: ServerProcess;
  const certs = createTestCerts();
  before(async () => {
    server = await ServerProcess.start({
      endpoints: ['kcp@127.0.0.1:0', 'quic@127.0.0.1:0'],
      listen: { kcp: { kcpMaxSessions: 300, kcpAcceptPerSecond: 1000 }, quic: { tls: { cert: certs.certPem, key: certs.keyPem } } },
    });
  });
  after(async () => {
    await server.stop();
    certs.cleanup();
  });

  it('KCP: 20,000 datagrams with fresh conversation ids open at most kcpMaxSessions sessions', async () => {
    const { host, port } = server.address('kcp');
    const template = firstKcpDatagram();
    const socket = await udpSocket();
    const baseline = await server.stats();
    for (let i = 0; i < 20_000; i++) {
      const datagram = Buffer.from(template);
      datagram.writeUInt32LE(i, 0); // FEC sequence id
      datagram.writeUInt32LE(0x10000 + i, 8); // conversation id
      socket.send(datagram, port, host);
      if (i % 200 === 199) await sleep(2);
    }
    await sleep(500);
    const stats = await server.stats();
    socket.close();
    console.log(`kcp flood: 20,000 fresh conversations → ${stats.connections} sessions; server RSS +${((stats.rss - baseline.rss) / MiB).toFixed(1)} MB`);
    assert.ok(stats.connections <= 300, `${stats.connections} sessions`);
    assert.ok(stats.connections > 0, 'no session at all was accepted');
  });

  it('QUIC: random datagrams get no answer under 1,200 bytes and at most 3x the bytes above', async () => {
    const { host, port } = server.address('quic');
    const socket = await udpSocket();
    let answers = 0;
    let answeredBytes = 0;
    socket.on('message', (m) => {
      answers++;
      answeredBytes += m.length;
    });
    let smallSent = 0;
    for (let i = 0; i < 5000; i++) {
      const datagram = randomBytes(20 + (i % 1150));
      datagram[0]! |= 0x80; // long header: a would-be connection start
      datagram[5] = 8; // a plausible connection-id length
      socket.send(datagram, port, host);
      smallSent++;
      if (i % 200 === 199) await sleep(2);
    }
    await sleep(500);
    const smallAnswers = answers;
    let bigBytes = 0;
    for (let i = 0; i < 200; i++) {
      const datagram = randomBytes(1200);
      datagram[0]! |= 0xc0;
      datagram[5] = 8;
      socket.send(datagram, port, host);
      bigBytes += datagram.length;
    }
    await sleep(500);
    socket.close();
    console.log(`quic flood: ${smallSent} datagrams under 1,200 bytes → ${smallAnswers} answers; 200 of 1,200 bytes → ${answers - smallAnswers} answers, ${answeredBytes} bytes`);
    assert.equal(smallAnswers, 0);
    assert.ok(answeredBytes <= 3 * bigBytes);
    assert.ok(server.alive);
  });
});
