/**
 * CORS for the HTTP gateway and JSON-RPC (rpcx's SetCORS): in headless Chromium, a page on another origin (another
 * loopback port) calls the gateway and JSON-RPC with `fetch` (both need a preflight: they send X-RPCX-* /
 * X-JSONRPC-2.0 headers) and reads the answers and the exposed X-RPCX-* headers; a server without CORS, or one that
 * allows another origin only, is refused by the browser. The preflight answers themselves are checked over HTTP.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith } from '../examples/services/index.js';
import { serveStaticFiles, type StaticServer } from '../examples/browser/page-assets.js';
import { allowAllCors, type CorsOptions } from '../server/http/cors.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';

async function startServer(cors?: CorsOptions): Promise<{ server: Server; base: string }> {
  const server = new Server({ logger: silentLogger, ...(cors ? { cors } : {}) });
  server.register(Arith);
  const listener = await server.serve('tcp@127.0.0.1:0');
  return { server, base: `http://${listener.address}` };
}

function request(url: string, method: string, headers: Record<string, string>, body = ''): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('CORS for the gateway and JSON-RPC', () => {
  let page: StaticServer;
  let allowed: Awaited<ReturnType<typeof startServer>>;
  let noCors: Awaited<ReturnType<typeof startServer>>;
  let otherOrigin: Awaited<ReturnType<typeof startServer>>;
  let chromium: Chromium;

  before(async () => {
    page = await serveStaticFiles({ '/': { type: 'text/html; charset=utf-8', body: '<!doctype html><title>another origin</title>' } });
    allowed = await startServer({ allowedOrigins: [page.origin], maxAgeSeconds: 60 });
    noCors = await startServer();
    otherOrigin = await startServer({ allowedOrigins: ['https://app.example.com'] });
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    for (const s of [allowed, noCors, otherOrigin]) await s?.server.close();
    await page?.close();
  });

  it('lets a page on an allowed origin call the gateway and JSON-RPC; others are refused by the browser', { timeout: 90_000 }, async () => {
    const tab = await chromium.context.newPage();
    try {
      await tab.goto(`${page.origin}/`);
      const results = await tab.evaluate(
        async ({ allowedBase, noCorsBase, otherBase }) => {
          const gateway = async (base: string) => {
            const res = await fetch(`${base}/Arith`, {
              method: 'POST',
              headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Mul', 'Content-Type': 'application/json' },
              body: JSON.stringify({ A: 6, B: 7 }),
            });
            return { status: res.status, body: await res.json(), statusType: res.headers.get('X-RPCX-MessageStatusType') };
          };
          const jsonRpc = async (base: string) => {
            const res = await fetch(`${base}/`, {
              method: 'POST',
              headers: { 'X-JSONRPC-2.0': 'true', 'Content-Type': 'application/json' },
              body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Arith.Add', params: { A: 40, B: 2 } }),
            });
            return await res.json();
          };
          const refused = async (call: () => Promise<unknown>) => {
            try {
              await call();
              return 'not refused';
            } catch (error) {
              return (error as Error).name;
            }
          };
          return {
            gateway: await gateway(allowedBase),
            jsonRpc: await jsonRpc(allowedBase),
            noCorsGateway: await refused(() => gateway(noCorsBase)),
            noCorsJsonRpc: await refused(() => jsonRpc(noCorsBase)),
            otherOriginGateway: await refused(() => gateway(otherBase)),
          };
        },
        { allowedBase: allowed.base, noCorsBase: noCors.base, otherBase: otherOrigin.base },
      );
      assert.deepEqual(results.gateway, { status: 200, body: { C: 42 }, statusType: 'Normal' });
      assert.deepEqual(results.jsonRpc, { jsonrpc: '2.0', id: 1, result: { C: 42 } });
      assert.equal(results.noCorsGateway, 'TypeError');
      assert.equal(results.noCorsJsonRpc, 'TypeError');
      assert.equal(results.otherOriginGateway, 'TypeError');
    } finally {
      await tab.close();
    }
  });

  it('answers preflights: allowed with the Access-Control-Allow-* headers, refused with 403 and the reason', async () => {
    const preflight = (base: string, origin: string, method: string, headers: string) =>
      request(`${base}/Arith`, 'OPTIONS', { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers });
    const ok = await preflight(allowed.base, page.origin, 'POST', 'x-rpcx-serializetype, x-rpcx-servicemethod, content-type');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], page.origin);
    assert.equal(ok.headers['access-control-allow-methods'], 'POST');
    assert.equal(ok.headers['access-control-allow-headers'], 'x-rpcx-serializetype, x-rpcx-servicemethod, content-type');
    assert.equal(ok.headers['access-control-max-age'], '60');

    const badOrigin = await preflight(allowed.base, 'http://evil.example', 'POST', '');
    assert.equal(badOrigin.status, 403);
    assert.match(badOrigin.body, /origin http:\/\/evil\.example is not allowed/);
    assert.equal(badOrigin.headers['access-control-allow-origin'], undefined);
    assert.equal((await preflight(allowed.base, page.origin, 'DELETE', '')).status, 403);
    assert.match((await preflight(allowed.base, page.origin, 'POST', 'x-secret')).body, /header x-secret not allowed/);
  });

  it('decorates actual requests only for allowed origins; allowAllCors answers with *', async () => {
    const call = (base: string, origin?: string) =>
      request(`${base}/Arith`, 'POST', { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Mul', ...(origin ? { Origin: origin } : {}) }, '{"A":2,"B":3}');
    const fromPage = await call(allowed.base, page.origin);
    assert.equal(fromPage.headers['access-control-allow-origin'], page.origin);
    assert.match(String(fromPage.headers['access-control-expose-headers']), /X-RPCX-MessageStatusType/);
    const fromElsewhere = await call(allowed.base, 'http://evil.example');
    assert.equal(fromElsewhere.status, 200, 'served, but the browser will hide the answer');
    assert.equal(fromElsewhere.headers['access-control-allow-origin'], undefined);
    assert.equal((await call(allowed.base)).headers['access-control-allow-origin'], undefined);

    const open = await startServer(allowAllCors());
    try {
      assert.equal((await call(open.base, 'http://anything.example')).headers['access-control-allow-origin'], '*');
      const pre = await request(`${open.base}/`, 'OPTIONS', { Origin: 'http://a.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'x-custom' });
      assert.equal(pre.status, 204);
      open.server.setCORS(undefined);
      assert.equal((await call(open.base, 'http://anything.example')).headers['access-control-allow-origin'], undefined);
    } finally {
      await open.server.close();
    }
  });

  it('refuses bad options when the server starts serving HTTP', async () => {
    const server = new Server({ logger: silentLogger, cors: { maxAgeSeconds: -1 } });
    try {
      await assert.rejects(server.serve('tcp@127.0.0.1:0'), { code: 'ERR_RPCX_CONFIG' });
    } finally {
      await server.close();
    }
  });
});
