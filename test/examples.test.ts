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

  it('file-transfer: the client uploads a file and downloads it back', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-example-ft-'));
    const { child, endpoints } = await startListening(join(distDir, 'examples', 'file-transfer', 'server.js'), ['tcp@127.0.0.1:0', join(dir, 'store'), '127.0.0.1:0']);
    try {
      const file = join(dir, 'hello.txt');
      writeFileSync(file, 'hello file transfer\n');
      const r = await run(join(distDir, 'examples', 'file-transfer', 'client.js'), [endpoints[0]!, file]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'uploaded hello.txt: 20 bytes\ndownloaded hello.txt: 20 bytes, identical: true\n');
    } finally {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stream: rpcx stream service echo, a typed server stream and a typed client stream', async () => {
    const { child, endpoints } = await startListening(join(distDir, 'examples', 'stream', 'server.js'), ['tcp@127.0.0.1:0', '127.0.0.1:0']);
    try {
      const r = await run(join(distDir, 'examples', 'stream', 'client.js'), [endpoints[0]!]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'echo: hello stream\ntick 1\ntick 2\ntick 3\nsum: 10\n');
    } finally {
      await stopProcess(child);
    }
  });

  it('the demo calls through every network and prints its table', async () => {
    const r = await run(join(distDir, 'examples', 'demo.js'), []);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^network\s+address\s+call\s+result\s+latency/);
    for (const network of ['tcp', 'tcp+tls', 'unix', 'reuseport', 'http', 'ws', 'wss', 'quic', 'wt', 'kcp']) assert.match(r.stdout, new RegExp(`^${network.replace('+', '\\+')}\\s+\\S+\\s+Arith\\.Mul \\{A:10,B:20\\}\\s+C=200\\s`, 'm'));
    assert.doesNotMatch(r.stdout, /FAILED/);
  });
});

describe('browser example', () => {
  it('npm run example:browser: the page calls the services over ws and WebTransport, gets pushes and cancels', { timeout: 120_000 }, async () => {
    const { createHash, createPublicKey } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { launchChromium } = await import('./helpers/chromium.js');
    const { repoRoot } = await import('./helpers/paths.js');
    const cert = readFileSync(join(repoRoot, 'examples', 'certs', 'server.pem'), 'utf8');
    const spki = createHash('sha256').update(createPublicKey(cert).export({ type: 'spki', format: 'der' })).digest('base64');
    const { child, endpoints } = await startListening(join(distDir, 'examples', 'browser', 'server.js'), ['--port', '0', '--ws-port', '0', '--wt-port', '0']);
    const chromium = await launchChromium([`--ignore-certificate-errors-spki-list=${spki}`]);
    try {
      const page = await chromium.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(endpoints[0]!);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      for (const network of ['ws', 'wt']) {
        const out = `#out-${network}`;
        assert.match((await page.textContent(`#state-${network}`)) ?? '', /^connected to /);
        await page.click(`#mul-${network}`);
        await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('6 × 7 = 42'), out, { timeout: 15_000 });
        await page.click(`#push-${network}`);
        await page.waitForFunction((sel) => /push Feed\.Item \{"N":2\}/.test(document.querySelector(sel)?.textContent ?? ''), out, { timeout: 15_000 });
        await page.click(`#slow-${network}`);
        await page.click(`#cancel-${network}`);
        await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('cancelled: ERR_RPCX_ABORTED'), out, { timeout: 15_000 });
      }
      assert.deepEqual(errors, []);
    } finally {
      await chromium.close();
      await stopProcess(child);
    }
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
