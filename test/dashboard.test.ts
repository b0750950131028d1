/**
 * The /dashboard page in a real headless Chromium (Debian's `chromium` package, driven by playwright-core): calls made
 * just before loading the page show up in it, later calls arrive by live polling, and the charts are drawn.
 * Chromium is required: without it this test fails (it is never skipped). CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith, Echo } from '../examples/services/index.js';
import { launchChromium } from './helpers/chromium.js';

describe('dashboard in Chromium', () => {
  it('shows the calls made just before loading, updates live and draws its charts', { timeout: 90_000 }, async (t) => {
    const server = new Server({ logger: silentLogger });
    server.register(Arith);
    server.register(Echo);
    server.registerFunction('Probe', 'Fail', () => {
      throw new Error('expected');
    });
    const listener = await server.serve('tcp@127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const shots = mkdtempSync(join(tmpdir(), 'rpcx-dashboard-'));
    const chromium = await launchChromium(['--disable-quic']);
    const browser = chromium.context;
    try {
      for (let i = 0; i < 7; i++) await client.call('Arith', 'Mul', { A: i, B: 3 });
      await Promise.all(Array.from({ length: 30 }, (_, i) => client.call('Arith', 'Add', { A: i, B: 1 })));
      await assert.rejects(client.call('Probe', 'Fail', null));

      const page = browser.pages()[0] ?? (await browser.newPage());
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      const response = await page.goto(`http://${listener.address}/dashboard?interval=250`);
      assert.equal(response?.status(), 200);
      assert.equal(await page.title(), 'rpcx-ts dashboard');

      const cell = (method: string, column: string) => `tr[data-method="${method}"] td.${column}`;
      await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === '7', cell('Arith.Mul', 'calls'), { timeout: 15_000 });
      assert.equal(await page.textContent(cell('Arith.Add', 'calls')), '30');
      assert.equal(await page.textContent(cell('Probe.Fail', 'errors')), '1');
      assert.equal(await page.textContent('#live'), 'live');

      // Calls made while the page is open arrive through polling.
      await Promise.all(Array.from({ length: 5 }, (_, i) => client.call('Arith', 'Mul', { A: i, B: 2 })));
      await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === '12', cell('Arith.Mul', 'calls'), { timeout: 15_000 });
      await page.waitForFunction(() => Number(document.getElementById('calls')?.textContent?.replace(/\D/g, '')) >= 43, undefined, { timeout: 15_000 });

      // Both charts have pixels on them, and the histogram shows the busiest method (Arith.Add) by default.
      const painted = await page.evaluate(() =>
        ['rateChart', 'histChart'].map((id) => {
          const canvas = document.getElementById(id) as HTMLCanvasElement;
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let drawn = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) drawn++;
          return drawn;
        }),
      );
      assert.ok(painted.every((n) => n > 500), `canvases drawn: ${painted.join(', ')}`);
      assert.match((await page.textContent('#histName')) ?? '', /Arith\.Add/);

      // Clicking a row selects it for the histogram.
      await page.click('tr[data-method="Arith.Mul"]');
      await page.waitForFunction(() => /Arith\.Mul/.test(document.getElementById('histName')?.textContent ?? ''), undefined, { timeout: 5000 });

      const screenshot = join(shots, 'dashboard.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      assert.ok(statSync(screenshot).size > 10_000, 'a real screenshot was written');
      t.diagnostic(`screenshot: ${screenshot}`);
      assert.deepEqual(pageErrors, [], 'no script errors on the page');
    } finally {
      await chromium.close();
      await client.close();
      await server.close();
    }
  });
});
