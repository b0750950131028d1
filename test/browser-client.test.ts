/**
 * `rpcx-ts/browser` in a real headless Chromium: a page loads the browser entry (bundled at test time with esbuild)
 * and, over `ws` and over WebTransport (`wt`), calls Arith.Mul, receives server pushes, cancels a call with an
 * AbortSignal and keeps using the connection; it reports back through `window.rpcxResults`. WebTransport runs through
 * the WebSocket mapping (our server has no HTTP/3 here) and, by default, through the polyfill's choice: the browser's
 * native WebTransport first, then the mapping. The server's self-signed test certificate is trusted by its key
 * (Chromium's --ignore-certificate-errors-spki-list), as a deployment would use a CA the browser trusts.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith, Feed } from '../examples/services/index.js';
import { bundleBrowserEntry, serveStaticFiles, type StaticServer } from '../examples/browser/page-assets.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { distDir, repoRoot } from './helpers/paths.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

interface ScenarioResult {
  mul?: number;
  manyOk?: boolean;
  subscribed?: number;
  pushes?: string[];
  cancelled?: string;
  cancelMs?: number;
  after?: number;
  error?: string;
}

/** SHA-256 of the certificate's public key, base64: what --ignore-certificate-errors-spki-list takes. */
function spkiHash(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

describe('browser entry in Chromium: ws and WebTransport', () => {
  let certs: TestCerts;
  let server: Server;
  let wsEndpoint: string;
  let wtEndpoint: string;
  let pages: StaticServer;
  let chromium: Chromium;

  before(async () => {
    certs = createTestCerts();
    server = new Server({ logger: silentLogger });
    server.register(Arith);
    server.register(Feed);
    wsEndpoint = `ws@${(await server.serve('ws@127.0.0.1:0')).address}`;
    wtEndpoint = `wt@${(await server.serve('wt@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } })).address}`;
    pages = await serveStaticFiles({
      '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(repoRoot, 'test', 'fixtures', 'browser-client.html'), 'utf8') },
      '/rpcx-browser.js': { type: 'text/javascript; charset=utf-8', body: await bundleBrowserEntry(join(distDir, 'browser.js')) },
    });
    chromium = await launchChromium([`--ignore-certificate-errors-spki-list=${spkiHash(certs.certPem)}`]);
  });

  after(async () => {
    await chromium?.close();
    await pages?.close();
    await server?.close();
    certs?.cleanup();
  });

  type PageResults = { ws?: ScenarioResult; wt?: ScenarioResult; nativeWebTransport: boolean };

  async function runPage(query: Record<string, string>): Promise<PageResults> {
    const page = await chromium.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(`${pages.origin}/?${new URLSearchParams(query)}`);
      const handle = await page.waitForFunction(() => (window as unknown as { rpcxResults?: unknown }).rpcxResults, undefined, { timeout: 60_000 });
      const results = (await handle.jsonValue()) as PageResults;
      assert.deepEqual(pageErrors, [], 'no uncaught errors on the page');
      return results;
    } finally {
      await page.close();
    }
  }

  function assertScenario(name: string, result: ScenarioResult | undefined): void {
    assert.ok(result, `${name}: no result`);
    assert.equal(result.error, undefined, `${name}: ${result.error}`);
    assert.equal(result.mul, 42);
    assert.equal(result.manyOk, true);
    assert.equal(result.subscribed, 3);
    assert.deepEqual(result.pushes, ['Feed.Item:0', 'Feed.Item:1', 'Feed.Item:2']);
    assert.equal(result.cancelled, 'AbortedError:ERR_RPCX_ABORTED');
    assert.ok(result.cancelMs! < 5000, `${name}: the call was cancelled after ${result.cancelMs} ms, not when the signal fired`);
    assert.equal(result.after, 42, `${name}: the connection still works after a cancelled call`);
  }

  it('calls, receives pushes and cancels over ws and over WebTransport (WebSocket mapping)', { timeout: 120_000 }, async () => {
    const results = await runPage({ ws: wsEndpoint, wt: wtEndpoint, wtMode: 'websocket' });
    assertScenario('ws', results.ws);
    assertScenario('wt', results.wt);
  });

  it('WebTransport with the default mode: native WebTransport is tried, the mapping serves', { timeout: 120_000 }, async () => {
    const results = await runPage({ wt: wtEndpoint });
    assert.equal(results.nativeWebTransport, true, 'this Chromium has native WebTransport, so the polyfill tries it first');
    assertScenario('wt (auto)', results.wt);
  });
});
