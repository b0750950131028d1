/**
 * rpcx-examples' file-transfer client in TypeScript: uploads a file, downloads it back and compares.
 *
 *   node dist/examples/file-transfer/client.js [tcp@127.0.0.1:8972] <file>
 */
import 'reflect-metadata';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Client } from '../../index.js';

const [endpoint = 'tcp@127.0.0.1:8972', file] = process.argv.slice(2);
if (!file) throw new Error('usage: client.js <endpoint> <file>');

const client = await Client.connect(endpoint);
const sent = await client.sendFile(file, { from: 'example' });
process.stdout.write(`uploaded ${basename(file)}: ${sent.bytes} bytes\n`);

const copy = join(tmpdir(), `rpcx-download-${process.pid}-${basename(file)}`);
const got = await client.downloadFile(basename(file), copy);
const same = readFileSync(copy).equals(readFileSync(file));
process.stdout.write(`downloaded ${basename(file)}: ${got.bytes} bytes, identical: ${same}\n`);
rmSync(copy, { force: true });
await client.close();
