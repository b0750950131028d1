/**
 * A real DNS server for DNS discovery tests: Debian's dnsmasq on a free loopback port, answering only from files the
 * test writes (no upstream, no /etc/hosts; `--local` makes it answer NXDOMAIN/NODATA for the test domain instead of
 * refusing). A and AAAA records come from a hosts file that SIGHUP re-reads; SRV and TXT records come from a config
 * file, which dnsmasq reads only at start, so changing them means a restart. `npm test` installs dnsmasq-base (the
 * binary without the system service).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface Dnsmasq {
  /** `127.0.0.1:port`, for `Resolver.setServers` or a `dns://` URL. */
  server: string;
  /** Replaces the hosts file (`ip name` lines) and has dnsmasq re-read it (SIGHUP). */
  setHosts(text: string): Promise<void>;
  /** Replaces the config file (`srv-host=...`, `txt-record=...` lines); it applies at the next start. */
  setConfig(text: string): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

const readyName = 'dnsmasq-ready.rpcx.test';

export async function startDnsmasq(options: { domain: string; hosts: string; config: string; ttlSeconds?: number }): Promise<Dnsmasq> {
  if (spawnSync('sh', ['-c', 'command -v dnsmasq || test -x /usr/sbin/dnsmasq']).status !== 0) {
    throw new Error('dnsmasq is not installed: apt-get install -y dnsmasq-base (npm test installs it)');
  }
  const binary = spawnSync('sh', ['-c', 'command -v dnsmasq']).stdout.toString().trim() || '/usr/sbin/dnsmasq';
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-dns-'));
  const hostsFile = join(dir, 'hosts');
  const configFile = join(dir, 'dnsmasq.conf');
  writeFileSync(hostsFile, options.hosts);
  writeFileSync(configFile, options.config);
  const port = await freePort();
  let child: ChildProcess | undefined;

  const answering = async (): Promise<boolean> => {
    const resolver = new Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    return (await resolver.resolve4(readyName).catch(() => [])).length > 0;
  };
  const start = async (): Promise<void> => {
    const args = [
      '--no-daemon', '--keep-in-foreground', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', '--no-negcache', `--local=/${options.domain}/`, `--addn-hosts=${hostsFile}`,
      `--conf-file=${configFile}`, `--local-ttl=${options.ttlSeconds ?? 1}`, `--host-record=${readyName},127.0.0.9`,
      '--pid-file=', '--log-facility=-',
    ];
    // As root dnsmasq drops to its own user, who cannot read the private temp dir: stay root there.
    if (process.getuid?.() === 0) args.push('--user=root', '--group=root');
    child = spawn(binary, args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await answering())) {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('dnsmasq did not answer within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };
  await start();
  return {
    server: `127.0.0.1:${port}`,
    async setHosts(text) {
      writeFileSync(hostsFile, text);
      child?.kill('SIGHUP');
      // dnsmasq handles the signal asynchronously; a query after it has been answered sees the new file.
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    setConfig: (text) => writeFileSync(configFile, text),
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
