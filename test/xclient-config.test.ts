/** The XClient checks its options and its servers when it is built: a mistake is a ConfigError, not a dial failure later. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, MultipleServersDiscovery, silentLogger, XClient, type FailMode } from '../index.js';

function build(servers: string[], options: Record<string, unknown> = {}, fail = 'failover'): XClient {
  return new XClient('Arith', fail as FailMode, 'roundrobin', new MultipleServersDiscovery(servers), { logger: silentLogger, ...options });
}

describe('XClient configuration', () => {
  it('rejects malformed server keys, naming the entry', () => {
    const cases: Array<[string, RegExp]> = [
      ['foo@1.2.3.4:1', /bad server "foo@1\.2\.3\.4:1": unknown network "foo"/],
      ['tcp@127.0.0.1', /bad server "tcp@127\.0\.0\.1": address "127\.0\.0\.1" has no port/],
      ['tcp@127.0.0.1:41001?weight=1', /bad server "tcp@127\.0\.0\.1:41001\?weight=1": metadata/],
      ['tcp@127.0.0.1:0', /needs a port from 1 to 65535/],
      ['tcp@127.0.0.1:99999', /bad port/],
      ['ws@127.0.0.1/path', /bad server "ws@127\.0\.0\.1\/path"/],
    ];
    for (const [key, message] of cases) {
      assert.throws(() => build(['tcp@127.0.0.1:8972', key]), (error: unknown) => error instanceof ConfigError && message.test(error.message), key);
    }
    // Shapes that are fine: bare host:port (tcp), unix paths, ws with a path.
    for (const key of ['127.0.0.1:8972', 'unix@/tmp/x.sock', 'ws@127.0.0.1:80/_rpcx_', 'kcp@[::1]:9000']) void build([key]).close();
  });

  it('rejects options that are not non-negative numbers, and unknown fail modes', () => {
    for (const [name, value] of [
      ['retries', NaN],
      ['retries', -3],
      ['retries', 1.5],
      ['timeoutMs', -1],
      ['connectTimeoutMs', Infinity],
      ['retryIntervalMs', '10'],
    ] as const) {
      assert.throws(() => build(['tcp@127.0.0.1:8972'], { [name]: value }), (error: unknown) => error instanceof ConfigError && error.message.includes(name), `${name}=${String(value)}`);
    }
    assert.throws(() => build(['tcp@127.0.0.1:8972'], {}, 'failsoft'), /unknown fail mode "failsoft"/);
  });

  it('skips a bad key a registry-like discovery lists at construction, with a warning', () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push(`${message} ${String(fields?.error)}`) };
    const registryLike = { list: () => [{ key: 'tcp@127.0.0.1:8972', value: '' }, { key: 'tcp@127.0.0.1', value: '' }], watch: () => () => undefined, close: () => undefined };
    const xclient = new XClient('Arith', 'failover', 'roundrobin', registryLike, { logger });
    assert.deepEqual([...xclient.servers.keys()], ['tcp@127.0.0.1:8972']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /bad server "tcp@127\.0\.0\.1"/);
    void xclient.close();
  });

  it('skips a bad key that discovery reports later, and keeps the good ones', () => {
    const discovery = new MultipleServersDiscovery(['tcp@127.0.0.1:8972']);
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push(`${message} ${String(fields?.error)}`) };
    const xclient = new XClient('Arith', 'failover', 'roundrobin', discovery, { logger });
    discovery.update(['tcp@127.0.0.1:8973', 'bogus@x:1']);
    discovery.update(['tcp@127.0.0.1:8973', 'bogus@x:1']);
    assert.deepEqual([...xclient.servers.keys()], ['tcp@127.0.0.1:8973']);
    assert.equal(warnings.length, 1, 'reported once');
    assert.match(warnings[0]!, /bogus@x:1/);
    void xclient.close();
  });
});
