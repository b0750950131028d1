/** The CLI over several servers (XClient) and over registries. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';
import { startEtcd, startRedis, type StoreProcess } from './helpers/stores.js';

function serverLines(stdout: string): Map<string, number> {
  const lines = new Map<string, number>();
  for (const match of stdout.matchAll(/^server (\S+) calls=(\d+)$/gm)) lines.set(match[1]!, Number(match[2]));
  return lines;
}

describe('rpcx-ts CLI with several servers', () => {
  const servers: Array<{ child: ChildProcess; endpoint: string; weight: number }> = [];

  before(async () => {
    for (const weight of [1, 2, 7]) {
      const { child, endpoints } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--meta', `weight=${weight}`]);
      servers.push({ child, endpoint: endpoints[0]!, weight });
    }
  });
  after(async () => {
    for (const s of servers) await stopProcess(s.child);
  });

  it('benches a list of servers round robin and prints one line per server', async () => {
    // A comma list carries no metadata (weights come with registries, below): round robin shares exactly.
    const list = servers.map((s) => s.endpoint).join(',');
    const r = await run(cliPath, ['bench', list, 'Arith.Mul', '--serialize', 'json', '--args', '{"A":2,"B":3}', '--select', 'roundrobin', '--concurrency', '6', '--duration', '1']);
    assert.equal(r.code, 0, r.stderr);
    const lines = serverLines(r.stdout);
    assert.deepEqual([...lines.keys()].sort(), servers.map((s) => s.endpoint).sort());
    const counts = [...lines.values()];
    const total = counts.reduce((a, b) => a + b, 0);
    for (const c of counts) assert.ok(Math.abs(c / total - 1 / 3) < 0.02, `round robin share ${c}/${total}`);
    assert.match(r.stdout.trim().split('\n').at(-1)!, /^calls=\d+ errors=0 calls\/s=\d+ p50_ms=\S+ p99_ms=\S+$/);
  });

  it('fails over past a dead server', async () => {
    const dead = `tcp@127.0.0.1:${await freePort()}`;
    const r = await run(cliPath, ['call', `${dead},${servers[0]!.endpoint}`, 'Arith.Mul', '{"A":6,"B":7}', '--fail', 'failover', '--select', 'roundrobin']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"C":42}\n');
    const failfast = await run(cliPath, ['call', dead, 'Arith.Mul', '{"A":6,"B":7}', '--fail', 'failfast']);
    assert.equal(failfast.code, 3);
    assert.match(failfast.stderr, /ERR_RPCX_DIAL/);
  });

  it('rejects unknown fail and select modes', async () => {
    const r = await run(cliPath, ['call', servers[0]!.endpoint, 'Arith.Mul', '{}', '--select', 'fastest']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--select takes/);
  });
});

for (const kind of ['etcd', 'redis'] as const) {
  describe(`rpcx-ts CLI with a ${kind} registry`, () => {
    let store: StoreProcess;
    const children: ChildProcess[] = [];
    let url: string;

    before(async () => {
      store = kind === 'etcd' ? await startEtcd() : await startRedis();
      url = `${store.url}/rpcx_cli`;
      for (const weight of [1, 2, 7]) {
        const { child } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--meta', `weight=${weight}`, '--registry', url]);
        children.push(child);
      }
    });
    after(async () => {
      for (const child of children) await stopProcess(child);
      await store.dispose();
    });

    it('calls through the registry', async () => {
      const r = await run(cliPath, ['call', url, 'Arith.Add', '{"A":40,"B":2}']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '{"C":42}\n');
    });

    it('benches weighted servers found in the registry: 1:2:7 within ±5 %', async () => {
      const r = await run(cliPath, ['bench', url, 'Echo.Echo', '--select', 'weighted', '--concurrency', '10', '--duration', '1.5', '--payload', '64']);
      assert.equal(r.code, 0, r.stderr);
      const counts = [...serverLines(r.stdout).values()].sort((a, b) => a - b);
      assert.equal(counts.length, 3, r.stdout);
      const total = counts.reduce((a, b) => a + b, 0);
      [0.1, 0.2, 0.7].forEach((share, i) => assert.ok(Math.abs(counts[i]! / total - share) <= 0.05, `share ${counts[i]}/${total} vs ${share}`));
    });
  });
}
