/**
 * Memory stays bounded end to end: 256 MiB uploaded into, and downloaded through, a consumer slower than loopback,
 * client and server in their own processes: neither grows by 100 MB of RSS (the 2 GiB figure is in the benchmark).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { distDir } from './helpers/paths.js';
import { run, startListening, stopProcess } from './helpers/processes.js';

const peer = join(distDir, 'bench', 'transfer-peer.js');
const SIZE = 256 * 1024 * 1024;

describe('file transfer memory', () => {
  let server: ChildProcess;
  let endpoint: string;

  before(async () => {
    const started = await startListening(peer, ['server']);
    server = started.child;
    endpoint = started.endpoints[0]!;
  });
  after(() => stopProcess(server));

  it('a 256 MiB upload and download through slow consumers keep both processes under 100 MB above their start', async () => {
    const result = await run(peer, ['client', endpoint, String(SIZE)], 180_000);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      client: { growthMB: number; uploaded: number; downloaded: number };
      server: { growthMB: number; received: number };
    };
    assert.equal(report.client.uploaded, SIZE);
    assert.equal(report.server.received, SIZE);
    assert.equal(report.client.downloaded, SIZE);
    assert.ok(report.client.growthMB < 100, `client grew ${report.client.growthMB} MB`);
    assert.ok(report.server.growthMB < 100, `server grew ${report.server.growthMB} MB`);
  });
});
