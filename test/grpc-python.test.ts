/**
 * gRPC with a second, non-JavaScript implementation: Python's grpcio (Debian's python3-grpcio, a C-core client)
 * calls a typed method with metadata, raw bytes, an error status, a deadline, auth and the health check, in clear
 * text and over TLS; and, as generic tools do, discovers a service by server reflection, loads its file descriptors
 * into python3-protobuf's descriptor pool and calls it with messages built from them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Calc, Greeter } from './helpers/grpc-services.js';
import { repoRoot } from './helpers/paths.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

/** Debian's interpreter, where python3-grpcio installs (another python3 first on PATH may lack it). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'test', 'peers', 'grpc_client.py');

interface PythonResult {
  hello: string;
  trace_echo: string;
  echo: number[];
  not_found: [string, string];
  deadline: string;
  unauthenticated: string;
  health: number;
}

async function runPython(address: string, caFile?: string): Promise<PythonResult> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, address, ...(caFile ? [caFile] : [])], { timeout: 60_000 });
  return JSON.parse(stdout) as PythonResult;
}

function check(result: PythonResult): void {
  assert.equal(result.hello, 'Hello python');
  assert.equal(result.trace_echo, 'py-7');
  assert.deepEqual(result.echo, [0, 1, 2, 255]);
  assert.equal(result.not_found[0], 'NOT_FOUND');
  assert.match(result.not_found[1], /no such person/);
  assert.equal(result.deadline, 'DEADLINE_EXCEEDED');
  assert.equal(result.unauthenticated, 'UNAUTHENTICATED');
  assert.equal(result.health, 1); // SERVING
}

describe('gRPC with Python grpcio', () => {
  let certs: TestCerts;
  const servers: Server[] = [];

  before(() => {
    certs = createTestCerts();
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.close({ timeoutMs: 1000 })));
    certs.cleanup();
  });

  async function start(tls: boolean): Promise<string> {
    const server = new Server({ logger: silentLogger, auth: (token) => token !== 'Bearer wrong' });
    servers.push(server);
    server.register(Greeter, { name: 'helloworld.Greeter' });
    server.register(Calc);
    const listener = await server.serve('tcp@127.0.0.1:0', tls ? { tls: { cert: certs.certPem, key: certs.keyPem } } : {});
    return listener.address;
  }

  it('calls over h2c', async () => {
    check(await runPython(await start(false)));
  });

  it('works as a generic tool does: lists services by reflection, builds the types from the descriptors and calls', async () => {
    const address = await start(false);
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, 'reflect', address], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { services: string[]; method: string[]; reply: string };
    assert.deepEqual(result.services, ['Calc', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', 'helloworld.Greeter']);
    assert.deepEqual(result.method, ['helloworld.Greeter.SayHello', 'helloworld.HelloRequest', 'helloworld.HelloReply']);
    assert.equal(result.reply, 'HELLO REFLECTED');
  });

  it('calls over TLS (ALPN h2)', async () => {
    const address = await start(true);
    check(await runPython(address.replace('127.0.0.1', 'localhost'), join(certs.dir, 'ca.pem')));
  });
});
