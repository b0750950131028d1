/**
 * What a page needs to use `rpcx-ts/browser` during development: the browser entry bundled with esbuild (as an
 * application's bundler would: browser conditions, one ES module) and a plain HTTP server for fixed files. Used by the
 * browser example and the browser tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Bundles the browser entry (dist/browser.js) into one ES module. esbuild is a development dependency. */
export async function bundleBrowserEntry(entry: string): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

export interface StaticFile {
  type: string;
  body: string | Uint8Array;
}

export interface StaticServer {
  /** `http://host:port` */
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves `files` by path (404 otherwise, never cached) on host:port (port 0: any free one). */
export async function serveStaticFiles(files: Record<string, StaticFile>, host = '127.0.0.1', port = 0): Promise<StaticServer> {
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Cache-Control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
