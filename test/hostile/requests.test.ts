/**
 * Oversized requests of other kinds: a huge JSON-RPC batch, WebSocket messages past the frame limit, and a flood of
 * malformed frames (which must not flood the log).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { httpRequest, jsonRpc } from '../helpers/http.js';
import { closesWithin, MiB, rawSocket, ServerProcess, sleep } from './harness.js';

describe('hostile: a JSON-RPC batch of 100,000 entries', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['tcp@127.0.0.1:0'] });
  });
  after(() => server.stop());

  it('is answered with one limit error, without running any of it', async () => {
    const { host, port } = server.address();
    const batch = Array.from({ length: 100_000 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'Echo.Echo', params: 'x'.repeat(40) }));
    const baseline = await server.stats();
    await server.resetLoop();
    const { json } = await jsonRpc(`http://${host}:${port}/`, batch, { timeoutMs: 30_000 });
    const stats = await server.stats();
    const error = (json as { error?: { code: number; message: string } }).error;
    console.log(`JSON-RPC batch of 100,000 (${(JSON.stringify(batch).length / MiB).toFixed(1)} MiB): server RSS +${((stats.rss - baseline.rss) / MiB).toFixed(1)} MB, event loop max ${stats.loopMaxMs.toFixed(1)} ms`);
    assert.equal(error?.code, -32600);
    assert.match(error!.message, /limit exceeded: maxBatchLength/);
    assert.ok(stats.loopMaxMs < 500, `event loop blocked ${stats.loopMaxMs.toFixed(1)} ms`);
    // A batch at the limit still runs.
    const small = await jsonRpc(`http://${host}:${port}/`, batch.slice(0, 1000));
    assert.equal((small.json as unknown[]).length, 1000);
  });
});

describe('hostile: WebSocket messages past the frame limit', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['ws@127.0.0.1:0'], limits: { maxFrameLength: 1 * MiB } });
  });
  after(() => server.stop());

  it('closes the WebSocket (1009) before buffering a message larger than maxFrameLength', async () => {
    const { endpoint } = server.address('ws');
    const url = `ws://${endpoint.slice('ws@'.length)}/_rpcx_`;
    const baseline = await server.stats();
    const codes = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const ws = new WebSocket(url);
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        ws.on('error', () => undefined);
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        ws.send(Buffer.alloc(16 * MiB, 8));
        return Promise.race([closed, sleep(10_000).then(() => -1)]);
      }),
    );
    const stats = await server.stats();
    console.log(`ws: four 16 MiB messages against a 1 MiB frame limit: close codes ${codes.join(',')}; server RSS +${((stats.rss - baseline.rss) / MiB).toFixed(1)} MB`);
    assert.deepEqual(codes, [1009, 1009, 1009, 1009]);
    assert.ok(stats.rss - baseline.rss < 100 * MiB, `server RSS grew ${((stats.rss - baseline.rss) / MiB).toFixed(1)} MB`);
  });
});

describe('hostile: a flood of malformed frames', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['tcp@127.0.0.1:0'], logWarnings: true });
  });
  after(() => server.stop());

  it('is counted in /metrics and logged in a few lines, not one per connection', async () => {
    const { host, port } = server.address();
    const connections = 500;
    for (let i = 0; i < connections; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const s = await rawSocket(host, port);
          s.on('error', () => undefined);
          const garbage = randomBytes(64);
          garbage[0] = 0x08; // binary rpcx by its first byte, then nonsense: a bad frame, not HTTP
          garbage[1] = 0xff;
          garbage.writeUInt32BE(40, 12);
          s.write(garbage);
          await closesWithin(s, 5000);
          s.destroy();
        }),
      );
    }
    const stats = await server.stats();
    const metrics = await httpRequest(`http://${host}:${port}/metrics`);
    const warnLines = server.stderr.split('\n').filter((l) => l.includes('WARN')).length;
    console.log(`malformed frames: ${connections} bad connections → ${stats.protocolErrors} counted, ${warnLines} WARN lines`);
    assert.equal(stats.protocolErrors, connections);
    assert.ok(warnLines <= 3, `${warnLines} WARN lines`);
    assert.match(metrics.text, /rpcx_server_protocol_errors_total\{code="[A-Z_]+"\} \d+/);
  });
});
