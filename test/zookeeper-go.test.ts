/**
 * ZooKeeper interop with Go: a peer built on samuel/go-zookeeper (the client under rpcx's libkv zookeeper store;
 * Debian's golang-github-samuel-go-zookeeper-dev, which npm test installs) does what rpcx's Go code does. It lists a
 * service the way rpcx's ZookeeperDiscovery does (children of `<basePath>/<Service>`, each child's data) and finds
 * what our registrar wrote; it registers the way rpcx's ZooKeeperRegisterPlugin.Register does (persistent
 * `<basePath>` = "rpcx_path", `<Service>` = name, node = metadata) and our discovery lists it, then drops it when
 * the Go side unregisters.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Server, silentLogger } from '../index.js';
import { createDiscovery, createRegistrar } from '../registry/index.js';
import { Counter, until } from './helpers/registry-fixtures.js';
import { startZooKeeper, type StoreProcess } from './helpers/stores.js';

const run = promisify(execFile);
const GOPATH = '/usr/share/gocode';

const PEER = `package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func create(conn *zk.Conn, path, data string) {
	_, err := conn.Create(path, []byte(data), 0, zk.WorldACL(zk.PermAll))
	if err != nil && err != zk.ErrNodeExists {
		must(err)
	}
}

// peer list|register|unregister <zk host:port> <basePath> <service> [<network@addr> <metadata>]
func main() {
	conn, _, err := zk.Connect([]string{os.Args[2]}, 5*time.Second, zk.WithLogInfo(false))
	must(err)
	defer conn.Close()
	base := "/" + strings.TrimPrefix(os.Args[3], "/")
	dir := base + "/" + os.Args[4]
	switch os.Args[1] {
	case "list":
		children, _, err := conn.Children(dir)
		must(err)
		pairs := []map[string]string{}
		for _, child := range children {
			value, _, err := conn.Get(dir + "/" + child)
			must(err)
			pairs = append(pairs, map[string]string{"Key": child, "Value": string(value)})
		}
		out, _ := json.Marshal(pairs)
		fmt.Print(string(out))
	case "register":
		create(conn, base, "rpcx_path")
		create(conn, dir, os.Args[4])
		create(conn, dir+"/"+os.Args[5], os.Args[6])
	case "unregister":
		must(conn.Delete(dir+"/"+os.Args[5], -1))
	}
}
`;

describe('ZooKeeper interop with Go (samuel/go-zookeeper, as under rpcx libkv)', () => {
  let dir: string;
  let peer: string;
  let store: StoreProcess;
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    if (!existsSync(join(GOPATH, 'src/github.com/samuel/go-zookeeper/zk'))) {
      throw new Error('Go ZooKeeper client sources missing: apt-get install -y golang-go golang-github-samuel-go-zookeeper-dev (npm test installs it)');
    }
    dir = mkdtempSync(join(tmpdir(), 'rpcx-zk-go-'));
    writeFileSync(join(dir, 'main.go'), PEER);
    peer = join(dir, 'peer');
    const build = run('go', ['build', '-o', peer, 'main.go'], {
      cwd: dir,
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(tmpdir(), 'rpcx-go-cache') },
      timeout: 300_000,
    });
    [store] = await Promise.all([startZooKeeper(), build]);
  });
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
    await store?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("Go lists what our registrar wrote, as rpcx's ZookeeperDiscovery reads it", async () => {
    const server = new Server({ logger: silentLogger, deregisterDelayMs: 100 });
    cleanup.push(() => server.close({ timeoutMs: 500 }));
    server.register(new Counter(), { metadata: 'weight=7&group=a' });
    await server.addRegistrar(createRegistrar(`${store.url}/rpcx_go_a`, { logger: silentLogger }));
    const endpoint = `tcp@${(await server.serve('tcp@127.0.0.1:0')).address}`;
    const { stdout } = await run(peer, ['list', store.hostPort, 'rpcx_go_a', 'Counter']);
    assert.deepEqual(JSON.parse(stdout), [{ Key: endpoint, Value: 'weight=7&group=a' }]);
  });

  it("our discovery lists what Go registered the way rpcx's plugin does, and drops it when Go unregisters", async () => {
    const discovery = await createDiscovery(`${store.url}/rpcx_go_b`, 'Arith', { logger: silentLogger });
    cleanup.push(() => discovery.close());
    await run(peer, ['register', store.hostPort, 'rpcx_go_b', 'Arith', 'tcp@10.0.0.7:8972', 'weight=3&tps=0']);
    await until(() => discovery.list().length === 1, 'the Go registration');
    assert.deepEqual(discovery.list(), [{ key: 'tcp@10.0.0.7:8972', value: 'weight=3&tps=0' }]);
    await run(peer, ['unregister', store.hostPort, 'rpcx_go_b', 'Arith', 'tcp@10.0.0.7:8972']);
    await until(() => discovery.list().length === 0, 'the Go unregistration');
  });
});
