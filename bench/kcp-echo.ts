/**
 * KCP echo throughput: 1 KiB framed calls with 100 outstanding on one session.
 *
 *     node dist/bench/kcp-echo.js [calls] [--peer]
 *
 * Always measures ours <-> ours (plain, and AES + FEC 10/3 as rpcx configures KCP); with `--peer` also our client
 * against the kcp-go echo peer (needs Go and kcp-go, see test/peers/kcp-echo).
 */
import { kcpTransport, type KcpSession } from '../transport/kcp.js';
import { echoRun, startEchoServer } from '../test/helpers/kcp-echo.js';
import { removePeerBuild, startPeerServer } from '../test/helpers/kcp-peer.js';

const calls = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20000);
const withPeer = process.argv.includes('--peer');
const SIZE = 1024;
const OUTSTANDING = 100;

const modes: [string, Record<string, unknown>, string[]][] = [
  ['plain', { kcpDataShards: 0, kcpParityShards: 0 }, []],
  ['aes+fec10/3', { kcpKey: 'rpcx-key' }, ['-crypt', 'aes', '-ds', '10', '-ps', '3']],
];

async function measure(label: string, address: string, options: Record<string, unknown>): Promise<void> {
  const conn = (await kcpTransport.dial('kcp', address, options)) as KcpSession;
  await echoRun(conn, 1000, SIZE, OUTSTANDING, 60_000); // warm-up
  const rate = await echoRun(conn, calls, SIZE, OUTSTANDING, 300_000);
  const s = conn.stats;
  console.log(
    `${label.padEnd(32)} ${rate.toFixed(0).padStart(7)} calls/s  (${calls} x ${SIZE} B, ${OUTSTANDING} outstanding; ` +
      `retrans ${s.kcp.lostSegs + s.kcp.fastRetransSegs + s.kcp.earlyRetransSegs}, srtt ${s.srtt} ms)`,
  );
  conn.destroy();
}

for (const [name, options, peerArgs] of modes) {
  const server = await startEchoServer(options);
  await measure(`ours <-> ours ${name}`, server.listener.address, options);
  for (const c of server.conns) c.destroy();
  await server.listener.close();
  if (withPeer) {
    const peer = await startPeerServer(peerArgs);
    try {
      await measure(`ours  -> kcp-go ${name}`, peer.address, options);
    } finally {
      peer.kill();
    }
  }
}
removePeerBuild();
