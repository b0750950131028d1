/**
 * Node modules that only some processes need, loaded on first use instead of at import: `node:tls` (with the
 * `node:crypto` it pulls in) costs about 8 MB of RSS and `node:zlib` about 2.5 MB in every process that imports
 * rpcx-ts, whether or not it ever dials TLS or gzips a payload. `process.getBuiltinModule` loads them synchronously,
 * so the callers stay synchronous.
 */
import type cryptoModule from 'node:crypto';
import type tlsModule from 'node:tls';
import type zlibModule from 'node:zlib';

let tls: typeof tlsModule | undefined;
let zlib: typeof zlibModule | undefined;
let crypto: typeof cryptoModule | undefined;

export const nodeTls = (): typeof tlsModule => (tls ??= process.getBuiltinModule('node:tls'));
export const nodeZlib = (): typeof zlibModule => (zlib ??= process.getBuiltinModule('node:zlib'));
export const nodeCrypto = (): typeof cryptoModule => (crypto ??= process.getBuiltinModule('node:crypto'));
