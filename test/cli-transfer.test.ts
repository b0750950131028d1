/** `rpcx-ts upload` and `rpcx-ts download` against a file-transfer server process, run as a user runs them. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { distDir } from './helpers/paths.js';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';

describe('rpcx-ts upload / download', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-cli-ft-'));
  const served = join(dir, 'served');
  let server: ChildProcess;
  let endpoint: string;

  before(async () => {
    mkdirSync(served);
    const started = await startListening(join(distDir, 'test', 'fixtures', 'file-server.js'), [served]);
    server = started.child;
    endpoint = started.endpoints[0]!;
  });
  after(async () => {
    await stopProcess(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a file and downloads it back, printing bytes and MB/s', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const local = join(dir, 'data.bin');
    writeFileSync(local, content);
    const up = await run(cliPath, ['upload', endpoint, local, '--meta', 'by=cli']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /^upload data\.bin: 2097152 bytes in \d+\.\d\d s \(\d+\.\d MB\/s\)\n$/);
    assert.deepEqual(readFileSync(join(served, 'data.bin')), content);

    const copy = join(dir, 'copy.bin');
    const down = await run(cliPath, ['download', endpoint, 'data.bin', copy]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /^download data\.bin: 2097152 bytes in .* MB\/s\)\n$/);
    assert.deepEqual(readFileSync(copy), content);
  });

  it('a missing file fails with the transfer error code', async () => {
    const r = await run(cliPath, ['download', endpoint, 'missing.bin', join(dir, 'never.bin')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_RPCX_TRANSFER/);
    assert.equal(existsSync(join(dir, 'never.bin')), false);
  });
});
