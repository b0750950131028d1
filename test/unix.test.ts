/** The unix network: socket file lifecycle. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith } from '../examples/services/arith.js';
import { cliPath, startListening, stopProcess } from './helpers/processes.js';

describe('unix network', () => {
  it('serves, removes its socket file on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-unix-'));
    const path = join(dir, 'a.sock');
    const server = new Server({ logger: silentLogger });
    server.register(Arith);
    await server.serve(`unix@${path}`);
    const client = await Client.connect(`unix@${path}`);
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    await client.close();
    await server.close();
    assert.equal(existsSync(path), false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarts over the stale socket file of a crashed server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-unix-'));
    const path = join(dir, 'crash.sock');
    const { child } = await startListening(cliPath, ['serve-examples', '--listen', `unix@${path}`]);
    await stopProcess(child, 'SIGKILL');
    assert.equal(existsSync(path), true, 'the crash left the socket file behind');
    const server = new Server({ logger: silentLogger });
    server.register(Arith);
    await server.serve(`unix@${path}`);
    const client = await Client.connect(`unix@${path}`);
    assert.deepEqual(await client.call('Arith', 'Add', { A: 1, B: 1 }), { C: 2 });
    await client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to take over a socket another server is listening on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-unix-'));
    const path = join(dir, 'busy.sock');
    const first = new Server({ logger: silentLogger });
    first.register(Arith);
    await first.serve(`unix@${path}`);
    const second = new Server({ logger: silentLogger });
    second.register(Arith);
    await assert.rejects(second.serve(`unix@${path}`), /another server is listening/);
    await first.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
