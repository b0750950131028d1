/**
 * Profiling and introspection pages of a live server: a CPU profile taken under load parses and holds the handler's
 * frames, its flame graph renders in headless Chromium (Debian's chromium, through playwright-core), a sampling heap
 * profile, /vars as brpc-style text and /flags with the effective options.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { Client, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { method, service } from '../server/decorators.js';
import { httpRequest } from './helpers/http.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

@service('Burner')
class Burner {
  /** Busy for about a millisecond per call, so profiles catch it. */
  @method()
  spinTheWheel(args: { n: number }): { x: number } {
    let x = args.n;
    const until = performance.now() + 1;
    while (performance.now() < until) x = (x * 1103515245 + 12345) % 2147483648;
    return { x };
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  startTime: number;
  endTime: number;
}

describe('profiling and introspection pages', () => {
  let server: Server;
  let base: string;
  let address: string;

  before(async () => {
    server = new Server({ logger: silentLogger, rateLimit: { ratePerSecond: 1_000_000 } });
    server.register(Burner);
    address = (await server.serve('tcp@127.0.0.1:0')).address;
    base = `http://${address}`;
  });

  after(async () => {
    await server.close({ timeoutMs: 1000 });
  });

  /** Keeps `callers` calls outstanding until `work` settles. */
  async function underLoad<T>(work: () => Promise<T>): Promise<T> {
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    let running = true;
    const loops = Array.from({ length: 4 }, async (_, i) => {
      while (running) await client.call('Burner', 'SpinTheWheel', { n: i });
    });
    try {
      return await work();
    } finally {
      running = false;
      await Promise.all(loops);
      await client.close();
    }
  }

  it('takes a CPU profile of the live process under load, holding the handler frames', async () => {
    const response = await underLoad(() => httpRequest(`${base}/hotspots/cpu?seconds=1.5`));
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-disposition']), /\.cpuprofile"$/);
    const profile = JSON.parse(response.text) as CpuProfile;
    assert.ok(profile.nodes.length > 10 && profile.samples.length > 100, `${profile.nodes.length} nodes, ${profile.samples.length} samples`);
    const handler = profile.nodes.filter((n) => n.callFrame.functionName === 'spinTheWheel');
    assert.ok(handler.length > 0, 'the handler appears in the profile');
    const handlerIds = new Set(handler.map((n) => n.id));
    const hits = profile.samples.filter((id) => handlerIds.has(id)).length;
    assert.ok(hits > 10, `handler self samples: ${hits}`);
  });

  it('refuses a second profile of the same kind while one runs, and bad seconds', async () => {
    const first = httpRequest(`${base}/hotspots/cpu?seconds=1`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await httpRequest(`${base}/hotspots/cpu?seconds=1`)).status, 409);
    assert.equal((await first).status, 200);
    assert.equal((await httpRequest(`${base}/hotspots/cpu?seconds=abc`)).status, 400);
  });

  it('takes sampling heap profiles: live allocations, and all allocations with the handler path in them', async () => {
    interface HeapNode {
      callFrame: { functionName: string };
      selfSize: number;
      children: HeapNode[];
    }
    const live = await underLoad(() => httpRequest(`${base}/hotspots/heap?seconds=1`));
    assert.equal(live.status, 200);
    assert.match(String(live.headers['content-disposition']), /\.heapprofile"$/);
    assert.equal((JSON.parse(live.text) as { head: HeapNode }).head.callFrame.functionName, '(root)');
    const all = await underLoad(() => httpRequest(`${base}/hotspots/heap?seconds=1.5&allocated=1`));
    const head = (JSON.parse(all.text) as { head: HeapNode }).head;
    const names = new Set<string>();
    let bytes = 0;
    const walk = (n: HeapNode): void => {
      names.add(n.callFrame.functionName);
      bytes += n.selfSize;
      n.children.forEach(walk);
    };
    walk(head);
    assert.ok(bytes > 100_000, `${bytes} bytes sampled`);
    assert.ok(names.has('dispatch'), 'the dispatcher allocates under load');
  });

  it('renders the flame graph of a CPU profile in headless Chromium', { timeout: 90_000 }, async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is required for this test and was not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    const profileDir = mkdtempSync(join(tmpdir(), 'rpcx-chromium-'));
    const browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timeout: 60_000,
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      const response = await underLoad(() => page.goto(`${base}/hotspots/cpu?seconds=1.5&view=flame`, { timeout: 60_000 }));
      assert.equal(response?.status(), 200);
      await page.waitForSelector('.frame', { timeout: 15_000 });
      const frames = await page.$$eval('.frame', (divs) => divs.map((d) => ({ name: (d as HTMLElement).dataset.name, width: d.getBoundingClientRect().width })));
      assert.ok(frames.length > 10, `${frames.length} frames drawn`);
      assert.ok(frames.some((f) => f.name === 'spinTheWheel' && f.width > 0), 'the handler has a frame');
      const rootWidth = Math.max(...frames.map((f) => f.width));
      assert.ok(rootWidth > 1000, `root frame spans the page (${rootWidth}px)`);
      // Search highlights, click zooms.
      await page.fill('#search', 'spinTheWheel');
      assert.ok((await page.$$('.frame.match')).length > 0);
      await page.click('.frame[data-name="spinTheWheel"]');
      const zoomed = await page.$$eval('.frame', (divs) => divs.map((d) => (d as HTMLElement).dataset.name));
      assert.equal(zoomed[0], 'spinTheWheel');

      // The heap profile's flame graph: allocation sites under the dispatcher.
      const heap = await underLoad(() => page.goto(`${base}/hotspots/heap?seconds=1&allocated=1&view=flame`, { timeout: 60_000 }));
      assert.equal(heap?.status(), 200);
      await page.waitForSelector('.frame', { timeout: 15_000 });
      const heapFrames = await page.$$eval('.frame', (divs) => divs.map((d) => (d as HTMLElement).dataset.name));
      assert.ok(heapFrames.includes('dispatch'), `heap frames: ${heapFrames.slice(0, 20).join(', ')}`);
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      rmSync(profileDir, { recursive: true, force: true });
    }
  });

  it('lists every counter and gauge on /vars, filterable', async () => {
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    const before = server.registry.get('Burner')!.methods.get('SpinTheWheel')!.stats.calls;
    for (let i = 0; i < 3; i++) await client.call('Burner', 'SpinTheWheel', { n: i });
    const response = await httpRequest(`${base}/vars`);
    await client.close();
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const vars = new Map(response.text.trim().split('\n').map((line) => line.split(/\s+:\s+/) as [string, string]));
    assert.equal(Number(vars.get('rpc_Burner_SpinTheWheel_calls')), before + 3);
    for (const name of ['server_connections', 'server_calls', 'server_in_flight', 'process_rss_bytes', 'process_heap_used_bytes', 'process_event_loop_utilization', 'rpc_Burner_SpinTheWheel_latency_p99_ms']) {
      assert.ok(vars.has(name), `${name} in /vars`);
      assert.ok(Number.isFinite(Number(vars.get(name))), `${name} is a number`);
    }
    const filtered = await httpRequest(`${base}/vars?filter=rpc_Burner_*_calls`);
    assert.deepEqual(filtered.text.trim().split('\n').map((l) => l.split(' ')[0]), ['rpc_Burner_SpinTheWheel_calls']);
  });

  it('keeps the profiling and introspection pages behind the pages auth, and lets them be turned off', async () => {
    const guarded = new Server({ logger: silentLogger, auth: (token) => token === 'Bearer ops' });
    guarded.register(Burner);
    const { address: guardedAddress } = await guarded.serve('tcp@127.0.0.1:0');
    const off = new Server({ logger: silentLogger, pages: { hotspots: false, vars: false } });
    off.register(Burner);
    const { address: offAddress } = await off.serve('tcp@127.0.0.1:0');
    try {
      for (const page of ['/hotspots/cpu?seconds=0.1', '/hotspots/heap?seconds=0.1', '/vars', '/flags']) {
        assert.equal((await httpRequest(`http://${guardedAddress}${page}`)).status, 401, page);
        assert.equal((await httpRequest(`http://${guardedAddress}${page}`, { headers: { Authorization: 'Bearer ops' } })).status, 200, page);
      }
      assert.equal((await httpRequest(`http://${offAddress}/hotspots/cpu?seconds=0.1`)).status, 404);
      assert.equal((await httpRequest(`http://${offAddress}/vars`)).status, 404);
      assert.equal((await httpRequest(`http://${offAddress}/flags`)).status, 200);
    } finally {
      await guarded.close();
      await off.close();
    }
  });

  it('shows the effective options on /flags', async () => {
    const response = await httpRequest(`${base}/flags`);
    assert.equal(response.status, 200);
    const flags = JSON.parse(response.text) as Record<string, unknown>;
    assert.equal(flags.maxFrameLength, 64 * 1024 * 1024);
    assert.equal(flags.shutdownTimeoutMs, 10_000);
    assert.deepEqual(flags.sniffNetworks, ['tcp', 'reuseport']);
    assert.equal(flags.grpc, true);
    assert.deepEqual(flags.grpcLimits, { maxConcurrentStreams: 1024, idleTimeoutMs: 300_000 });
    assert.equal(flags.auth, false);
    assert.deepEqual(flags.listeners, [`tcp@${address}`]);
    assert.deepEqual(flags.plugins, [{ name: 'rate-limit', settings: { ratePerSecond: 1_000_000, burst: 1_000_000, perConnection: false } }]);
  });
});
