/**
 * rpcx-examples' file-transfer server in TypeScript: rpcx's `_filetransfer` service, storing uploads in a directory
 * and serving downloads from it. Go rpcx clients (`xclient.SendFile`, `DownloadFile`) work against it unchanged.
 *
 *   node dist/examples/file-transfer/server.js [tcp@127.0.0.1:8972] [directory] [data listener, default 127.0.0.1:8973]
 */
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../index.js';
import { serveUntilSignal } from '../until-signal.js';

const endpoint = process.argv[2] ?? 'tcp@127.0.0.1:8972';
const dir = process.argv[3] ?? join(tmpdir(), 'rpcx-files');
const dataListen = process.argv[4] ?? '127.0.0.1:8973';
mkdirSync(dir, { recursive: true });

const server = new Server();
const listener = await server.serve(endpoint);
// The data connections: a client dials the address a token call answers with and writes its 32-byte token first.
await server.enableFileTransfer({ listen: dataListen, dir });
serveUntilSignal(server, listener);
