/**
 * What importing a module really loads: a fresh Node process (this test's Node) records every module URL that
 * import() or require() resolves while the import runs (module.registerHooks), so lazy dependencies that load too
 * early show up whichever way they are loaded.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const PROBE = `
import { registerHooks } from 'node:module';
const urls = new Set();
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); urls.add(result.url); return result; } });
const before = new Set(process.moduleLoadList);
const started = performance.now();
const exported = await import(process.argv[1]);
const ms = performance.now() - started;
const builtins = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13));
process.stdout.write(JSON.stringify({ ms, urls: [...urls], exports: Object.keys(exported), builtins }));
`;

export interface ImportProbe {
  /** Wall time of the import, ms. */
  ms: number;
  /** npm packages loaded (by name, e.g. `ws`, `@grpc/grpc-js`). */
  packages: Set<string>;
  /** The module's export names. */
  exports: string[];
  /** Node's own modules the import loaded (`tls`, `zlib`, ...; internal ones included). */
  builtins: Set<string>;
}

/** The package a resolved URL belongs to (the part after its last node_modules/), or undefined for other files. */
export function packageOf(url: string): string | undefined {
  const marker = '/node_modules/';
  const at = url.lastIndexOf(marker);
  if (at < 0) return undefined;
  const [first, second] = url.slice(at + marker.length).split('/');
  return first!.startsWith('@') ? `${first}/${second}` : first;
}

/** Imports `specifier` (a package name resolved from `cwd`, or a file URL) in a fresh process and reports what loaded. */
export async function probeImport(specifier: string, cwd: string): Promise<ImportProbe> {
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', PROBE, specifier], { cwd, timeout: 60_000 });
  const result = JSON.parse(stdout) as { ms: number; urls: string[]; exports: string[]; builtins: string[] };
  const packages = new Set(result.urls.map(packageOf).filter((name): name is string => name !== undefined));
  return { ms: result.ms, packages, exports: result.exports, builtins: new Set(result.builtins) };
}

/** Packages a plain server or client must not load: registry clients, metrics, protobuf, tracing, ws. */
export const LAZY_PACKAGES = ['etcd3', '@grpc/grpc-js', 'ioredis', 'prom-client', 'protobufjs', '@opentelemetry/api', 'ws'];
