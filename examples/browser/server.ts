/**
 * `npm run example:browser`: the example services for a web page, over `ws` and WebTransport (`wt`), plus a small
 * HTTP server for the page itself. Open the printed address in a browser.
 *
 *   node dist/examples/browser/server.js [--host 127.0.0.1] [--port 8000] [--ws-port 8081] [--wt-port 8443]
 *
 * The page (index.html, app.js) imports `rpcx-ts/browser` as `/rpcx-browser.js`, which this server bundles from
 * dist/browser.js with esbuild at start (page-assets.ts), as an application's bundler would. WebTransport needs TLS: the `wt` listener
 * uses the demo certificates of examples/certs, which browsers do not trust; start Chromium with the printed
 * --ignore-certificate-errors-spki-list flag (it trusts exactly that key), or import examples/certs/ca.pem.
 */
import 'reflect-metadata';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Server, stderrLogger } from '../../index.js';
import { Arith, Echo, Feed } from '../services/index.js';
import { bundleBrowserEntry, serveStaticFiles, type StaticFile } from './page-assets.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const source = join(repo, 'examples', 'browser');
const certDir = join(repo, 'examples', 'certs');

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8000' },
    'ws-port': { type: 'string', default: '8081' },
    'wt-port': { type: 'string', default: '8443' },
  },
});
const host = values.host;

const cert = readFileSync(join(certDir, 'server.pem'), 'utf8');
const key = readFileSync(join(certDir, 'server-key.pem'), 'utf8');

const server = new Server({ logger: stderrLogger });
server.register(Arith);
server.register(Echo);
server.register(Feed);
const ws = await server.serve(`ws@${host}:${values['ws-port']}`);
const wt = await server.serve(`wt@${host}:${values['wt-port']}`, { tls: { cert, key } });

const files: Record<string, StaticFile> = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(source, 'index.html')) },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(source, 'app.js')) },
  '/rpcx-browser.js': { type: 'text/javascript; charset=utf-8', body: await bundleBrowserEntry(join(repo, 'dist', 'browser.js')) },
  '/endpoints.json': { type: 'application/json', body: JSON.stringify({ ws: `ws@${ws.address}`, wt: `wt@${wt.address}` }) },
};
const pages = await serveStaticFiles(files, host, Number(values.port));
const page = `${pages.origin}/`;

const spki = createHash('sha256').update(createPublicKey(cert).export({ type: 'spki', format: 'der' })).digest('base64');
process.stdout.write(`rpcx services: ws@${ws.address} and wt@${wt.address}\n`);
process.stdout.write(`open the page with: chromium --ignore-certificate-errors-spki-list=${spki} ${page}\n`);
process.stdout.write(`listening ${page}\n`);

const stop = (): void => {
  void Promise.all([pages.close(), server.close()]).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
