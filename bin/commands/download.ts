/** `rpcx-ts download <endpoint> <name> [<file>]`: rpcx's DownloadFile from a server's `_filetransfer` service. */
import { basename } from 'node:path';
import { ConfigError } from '../../index.js';
import { xclientFlags, xclientFor } from '../discovery-options.js';
import { networkFlags } from '../network-options.js';
import { metaOption, numberOption, parse } from '../options.js';
import { TransferProgress } from './transfer-progress.js';

export const usage = `rpcx-ts download <network@addr | etcd://… | redis://…> <name> [<file> | -] [--meta k=v]... [--timeout ms] [--tls-ca FILE | --insecure]`;

export async function download(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    meta: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    ...networkFlags,
    ...xclientFlags,
  });
  const [endpoint, name, file] = positionals;
  if (!endpoint || !name) throw new ConfigError(`usage: ${usage}`);
  const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');
  const toStdout = file === '-';
  const target = toStdout ? process.stdout : (file ?? basename(name));
  const { xclient, discovery } = await xclientFor(endpoint, '_filetransfer', values, { connectTimeoutMs: Math.min(timeoutMs || 10_000, 10_000) });
  try {
    const progress = new TransferProgress('download');
    const result = await xclient.downloadFile(name, target, metaOption(values.meta) ?? {}, { timeoutMs, onProgress: progress.update });
    // With the file on stdout the summary goes to stderr.
    if (toStdout) process.stderr.write(`download ${name}: ${result.bytes} bytes in ${(result.ms / 1000).toFixed(2)} s\n`);
    else progress.done(name, result);
    return 0;
  } finally {
    await xclient.close();
    await discovery.close();
  }
}
