/**
 * Throwaway certificates for tests: a fresh self-signed CA, a server certificate for `localhost` / 127.0.0.1 / ::1 and
 * a client certificate (for mutual TLS), all signed by that CA and written as PEM into a new temp directory by the
 * `openssl` CLI. Every call makes a new, unrelated CA, so two calls give a "wrong CA" pair.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  /** The directory holding the PEM files (ca.pem, server.pem, server-key.pem, client.pem, client-key.pem). */
  dir: string;
  caPem: string;
  caKeyPem: string;
  /** Server certificate: CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1 (unless `sans` says otherwise). */
  certPem: string;
  keyPem: string;
  /** Client certificate: CN=rpcx-test-client, extendedKeyUsage clientAuth. */
  clientCertPem: string;
  clientKeyPem: string;
  /** Removes the temp directory. */
  cleanup(): void;
}

export interface TestCertOptions {
  /** The server certificate's subjectAltName entries (default `['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']`). */
  sans?: string[];
  /** Extra subjectAltName entries added to `sans`, e.g. `['DNS:example.test']`. */
  extraSans?: string[];
  /** Validity in days (default 2). */
  days?: number;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCerts(options: TestCertOptions = {}): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-certs-'));
  const days = String(options.days ?? 2);
  const sans = [...(options.sans ?? ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']), ...(options.extraSans ?? [])].join(',');
  const newKey = (file: string): void => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], dir);

  newKey('ca-key.pem');
  openssl(['req', '-x509', '-new', '-key', 'ca-key.pem', '-sha256', '-days', days, '-subj', '/CN=rpcx-test-ca', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);

  const issue = (name: string, cn: string, ext: string): void => {
    newKey(`${name}-key.pem`);
    openssl(['req', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', days,
      '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  };
  issue('server', 'localhost',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`);
  issue('client', 'rpcx-test-client',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');

  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  return {
    dir,
    caPem: read('ca.pem'),
    caKeyPem: read('ca-key.pem'),
    certPem: read('server.pem'),
    keyPem: read('server-key.pem'),
    clientCertPem: read('client.pem'),
    clientKeyPem: read('client-key.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
