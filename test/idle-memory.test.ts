/**
 * Memory of idle client connections: 2,000 XClients, each with its pool connected to one server process and idle
 * after one call. The threshold is generous (the benchmark, `node --expose-gc dist/bench/idle-connections.js`, is
 * where the real figure lives: about 4 KB of heap and buffers a connection); this only catches a per-connection leak or a
 * large regression, such as a timer, buffer or cache kept per idle connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { measureIdleConnections } from '../bench/idle-connections.js';
import { cliPath, startListening, stopProcess } from './helpers/processes.js';
import type { ChildProcess } from 'node:child_process';

const CONNECTIONS = 2000;
/** Heap plus off-heap buffers a connection may take in the client process (measured: ~4 KB). */
const MAX_CLIENT_BYTES_PER_CONNECTION = 24 * 1024;

describe('idle client connections', () => {
  let server: ChildProcess;
  let endpoint: string;

  before(async () => {
    // A full GC before each reading, without needing --expose-gc on the test runner's command line.
    setFlagsFromString('--expose-gc');
    (globalThis as { gc?: () => void }).gc ??= runInNewContext('gc') as () => void;
    const started = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0']);
    server = started.child;
    endpoint = started.endpoints[0]!;
  });

  after(async () => {
    await stopProcess(server);
  });

  it(`${CONNECTIONS} idle XClient connections stay within ${MAX_CLIENT_BYTES_PER_CONNECTION / 1024} KB each in the client`, async () => {
    const result = await measureIdleConnections(endpoint, CONNECTIONS, server.pid);
    assert.equal(result.connections, CONNECTIONS);
    assert.ok(
      result.clientHeapPerConnection < MAX_CLIENT_BYTES_PER_CONNECTION,
      `client heap per idle connection: ${Math.round(result.clientHeapPerConnection)} bytes`,
    );
  });
});
