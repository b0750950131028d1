/** The examples run as documented. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { distDir } from './helpers/paths.js';
import { run, startListening, stopProcess } from './helpers/processes.js';

describe('examples', () => {
  it('101basic: the client calls the server', async () => {
    const { child, endpoints } = await startListening(join(distDir, 'examples', '101basic', 'server.js'), ['tcp@127.0.0.1:0']);
    try {
      const r = await run(join(distDir, 'examples', '101basic', 'client.js'), [endpoints[0]!]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '10 * 20 = 200\n');
    } finally {
      await stopProcess(child);
    }
  });

  it('the demo calls through every network and prints its table', async () => {
    const r = await run(join(distDir, 'examples', 'demo.js'), []);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^network\s+address\s+call\s+result\s+latency/);
    for (const network of ['tcp', 'tcp+tls', 'unix', 'reuseport', 'http', 'ws', 'wss', 'quic', 'kcp']) assert.match(r.stdout, new RegExp(`^${network.replace('+', '\\+')}\\s+\\S+\\s+Arith\\.Mul \\{A:10,B:20\\}\\s+C=200\\s`, 'm'));
    assert.doesNotMatch(r.stdout, /FAILED/);
  });
});

describe('registry example', () => {
  for (const kind of ['etcd', 'zk'] as const) {
    it(`servers register in ${kind} and the XClient finds and calls them`, async () => {
      const { startEtcd, startZooKeeper } = await import('./helpers/stores.js');
      const store = kind === 'etcd' ? await startEtcd() : await startZooKeeper();
      const url = `${store.url}/rpcx_example`;
      const server = join(distDir, 'examples', 'registry', 'server.js');
      const a = await startListening(server, [url]);
      const b = await startListening(server, [url]);
      try {
        const r = await run(join(distDir, 'examples', 'registry', 'client.js'), [url, '4']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^servers: tcp@127\.0\.0\.1:\d+, tcp@127\.0\.0\.1:\d+$/m);
        assert.match(r.stdout, /^4 \* 10 = 40$/m);
      } finally {
        await stopProcess(a.child);
        await stopProcess(b.child);
        await store.dispose();
      }
    });
  }
});
