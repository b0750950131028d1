/**
 * mDNS registry in rpcx's format over real multicast on the loopback interface (no store): the records a Go rpcx
 * browser reads (PTR `_rpcxservices.local`, one TXT string with the query-escaped JSON list), a list written the way
 * Go writes it, join and leave (goodbye packets), a server killed with SIGKILL dropped when its records expire, and
 * XClient load across a join and a graceful stop with no failed call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Answer, SrvAnswer, StringAnswer, TxtAnswer } from 'dns-packet';
import { Server, silentLogger } from '../index.js';
import type { Discovery } from '../client/discovery/discovery.js';
import { createDiscovery, createRegistrar } from '../registry/index.js';
import { decodeServiceEntries, encodeServiceEntries, goQueryEscape, type MdnsServiceEntry } from '../registry/mdns.js';
import { freePort } from './helpers/ports.js';
import { cliPath, startListening, stopProcess } from './helpers/processes.js';
import { Counter, joinAndLeaveUnderLoad, keys, until } from './helpers/registry-fixtures.js';

const multicastDns = createRequire(import.meta.url)('multicast-dns') as typeof import('multicast-dns');

describe('mdns registry', () => {
  let url: string;
  let port: number;
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    // A port of our own keeps this group apart from any mDNS responder on the machine and from other test runs.
    port = await freePort();
    url = `mdns://?interface=127.0.0.1&port=${port}`;
  });
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  const startServer = async (metadata = '', ttlSeconds = 10): Promise<{ server: Server; counter: Counter; endpoint: string }> => {
    const server = new Server({ logger: silentLogger, deregisterDelayMs: 300 });
    const counter = new Counter();
    server.register(counter, { metadata });
    const listener = await server.serve('tcp@127.0.0.1:0');
    await server.addRegistrar(createRegistrar(url, { ttlSeconds, logger: silentLogger }));
    cleanup.push(() => server.close({ timeoutMs: 500 }));
    return { server, counter, endpoint: `tcp@${listener.address}` };
  };

  const discover = async (service = 'Counter'): Promise<Discovery> => {
    const discovery = await createDiscovery(url, service, { logger: silentLogger });
    cleanup.push(() => discovery.close());
    return discovery;
  };

  /** A raw mDNS querier: the answers to one PTR query for `_rpcxservices.local`. */
  const browseRaw = async (): Promise<Answer[]> => {
    const socket = multicastDns({ port, interface: '127.0.0.1', bind: '0.0.0.0', reuseAddr: true, loopback: true });
    try {
      await new Promise((resolve) => socket.once('ready', resolve));
      const answers: Answer[] = [];
      socket.on('response', (response) => answers.push(...(response.answers ?? [])));
      socket.query({ questions: [{ name: '_rpcxservices.local', type: 'PTR' }] });
      await new Promise((resolve) => setTimeout(resolve, 500));
      return answers;
    } finally {
      socket.destroy();
    }
  };

  it("publishes rpcx's records (PTR, SRV, one query-escaped JSON TXT string) and discovers them", async () => {
    const { endpoint } = await startServer('weight=7&group=a');
    const answers = await browseRaw();
    const ptr = answers.find((a): a is StringAnswer => a.type === 'PTR' && a.name === '_rpcxservices.local');
    assert.ok(ptr, 'a PTR for _rpcxservices.local');
    const instance = ptr.data;
    assert.match(instance, /\._rpcxservices\.local$/);
    const txt = answers.find((a): a is TxtAnswer => a.type === 'TXT' && a.name === instance);
    const srv = answers.find((a): a is SrvAnswer => a.type === 'SRV' && a.name === instance);
    assert.ok(txt && srv);
    assert.equal(srv.data.port, Number(endpoint.split(':').pop()));
    const strings = (Array.isArray(txt.data) ? txt.data : [txt.data]).map((b) => b.toString());
    assert.equal(strings.length, 1);
    // Byte for byte what Go's json.Marshal + url.QueryEscape write (`&` as \u0026, space as +, ...).
    assert.equal(strings[0], goQueryEscape(`[{"service":"Counter","meta":"weight=7\\u0026group=a","service_address":"${endpoint}"}]`));
    assert.equal(strings[0], `%5B%7B%22service%22%3A%22Counter%22%2C%22meta%22%3A%22weight%3D7%5Cu0026group%3Da%22%2C%22service_address%22%3A%22${encodeURIComponent(endpoint)}%22%7D%5D`);
    const discovery = await discover();
    assert.deepEqual(discovery.list(), [{ key: endpoint, value: 'weight=7&group=a' }]);
  });

  it("reads a list announced the way Go's plugin writes it, keeping only its own service", async () => {
    const go = multicastDns({ port, interface: '127.0.0.1', bind: '0.0.0.0', reuseAddr: true, loopback: true });
    cleanup.push(() => go.destroy());
    await new Promise((resolve) => go.once('ready', resolve));
    const discovery = await discover('Arith');
    const text = goQueryEscape('[{"service":"Arith","meta":"group=go","service_address":"tcp@127.0.0.1:8972"},{"service":"Echo","service_address":"tcp@127.0.0.1:8972"}]');
    assert.deepEqual(decodeServiceEntries(text)?.map((e) => e.service), ['Arith', 'Echo']);
    go.respond({
      answers: [
        { name: '_rpcxservices.local', type: 'PTR', ttl: 120, data: 'gohost._rpcxservices.local' },
        { name: 'gohost._rpcxservices.local', type: 'TXT', ttl: 120, data: [Buffer.from(text)] },
      ],
    });
    await until(() => discovery.list().length === 1, 'the Go-format announcement');
    assert.deepEqual(discovery.list(), [{ key: 'tcp@127.0.0.1:8972', value: 'group=go' }]);
    // Its goodbye (TTL 0) removes it at once.
    go.respond({ answers: [{ name: 'gohost._rpcxservices.local', type: 'TXT', ttl: 0, data: [Buffer.from(text)] }] });
    await until(() => discovery.list().length === 0, 'the goodbye');
  });

  it('hears servers join and leave', async () => {
    const discovery = await discover('Counter');
    const before = keys(discovery.list());
    const b = await startServer();
    await until(() => discovery.list().length === before.length + 1, 'the announcement of the new server');
    assert.ok(keys(discovery.list()).includes(b.endpoint));
    await b.server.close();
    await until(() => !keys(discovery.list()).includes(b.endpoint), 'the goodbye of the closed server', 3000);
  });

  it('drops a server killed with SIGKILL once its records expire', async () => {
    const discovery = await discover('Arith');
    const { child, endpoints } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--registry', url, '--registry-ttl', '2']);
    await until(() => discovery.list().some((p) => p.key === endpoints[0]), 'the CLI server to be heard');
    const killedAt = Date.now();
    await stopProcess(child, 'SIGKILL');
    await until(() => !discovery.list().some((p) => p.key === endpoints[0]), 'the killed server to expire', 8000);
    const gone = Date.now() - killedAt;
    assert.ok(gone >= 500, `it stayed until its records expired (${gone} ms)`);
  });

  it('moves XClient load through a join and a graceful shutdown without a failed call', async () => {
    const discovery = await discover('Counter');
    const a = await startServer();
    const b = await startServer();
    await until(() => [a.endpoint, b.endpoint].every((e) => keys(discovery.list()).includes(e)), 'both servers heard');
    await joinAndLeaveUnderLoad(discovery, () => startServer(), () => a.server.close());
    assert.ok(a.counter.calls > 0 && b.counter.calls > 0);
    assert.ok(!keys(discovery.list()).includes(a.endpoint));
  });
});

/** rpcx's serviceMeta and the two steps its mdns plugin and discovery apply to the list, in Go's standard library. */
const GO_TXT_PEER = `package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
)

type serviceMeta struct {
	Service        string \`json:"service,omitempty"\`
	Meta           string \`json:"meta,omitempty"\`
	ServiceAddress string \`json:"service_address,omitempty"\`
}

// peer encode <plain JSON list> | decode <TXT text>
func main() {
	var services []*serviceMeta
	if os.Args[1] == "encode" {
		if err := json.Unmarshal([]byte(os.Args[2]), &services); err != nil {
			panic(err)
		}
		data, _ := json.Marshal(services)
		fmt.Print(url.QueryEscape(string(data)))
		return
	}
	text, err := url.QueryUnescape(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal([]byte(text), &services); err != nil {
		panic(err)
	}
	out, _ := json.Marshal(services)
	fmt.Print(string(out))
}
`;

describe("mdns TXT format against Go's encoding/json and net/url", () => {
  const run = promisify(execFile);
  let dir: string;
  let peer: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpcx-mdns-go-'));
    writeFileSync(join(dir, 'main.go'), GO_TXT_PEER);
    peer = join(dir, 'peer');
    await run('go', ['build', '-o', peer, 'main.go'], {
      cwd: dir,
      env: { ...process.env, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), 'rpcx-go-cache') },
      timeout: 300_000,
    });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const entries: MdnsServiceEntry[] = [
    { service: 'Arith', meta: 'weight=7&group=a b<c>', service_address: 'tcp@127.0.0.1:8972' },
    { service: 'Echo', meta: '', service_address: 'quic@[::1]:8973' },
    { service: 'Ünïcode*', meta: "tps=1.5&note=it's (fine)!~", service_address: 'unix@/tmp/x.sock' },
  ];

  it('writes byte for byte what Go writes', async () => {
    const { stdout } = await run(peer, ['encode', JSON.stringify(entries)]);
    assert.equal(encodeServiceEntries(entries), stdout);
  });

  it('Go reads what we write, and we read what Go writes', async () => {
    const { stdout } = await run(peer, ['decode', encodeServiceEntries(entries)]);
    assert.deepEqual(JSON.parse(stdout), JSON.parse(JSON.stringify(entries.map((e) => (e.meta ? e : { service: e.service, service_address: e.service_address })))));
    const fromGo = (await run(peer, ['encode', JSON.stringify(entries)])).stdout;
    assert.deepEqual(decodeServiceEntries(fromGo), entries);
  });
});
