/** `rpcx-ts upload <endpoint> <file>`: rpcx's SendFile to a server's `_filetransfer` service. */
import { basename } from 'node:path';
import { ConfigError } from '../../index.js';
import { xclientFlags, xclientFor } from '../discovery-options.js';
import { networkFlags } from '../network-options.js';
import { metaOption, numberOption, parse } from '../options.js';
import { TransferProgress } from './transfer-progress.js';

export const usage = `rpcx-ts upload <network@addr | etcd://… | redis://…> <file> [--name NAME] [--meta k=v]... [--timeout ms] [--tls-ca FILE | --insecure]`;

export async function upload(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    name: { type: 'string' },
    meta: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    ...networkFlags,
    ...xclientFlags,
  });
  const [endpoint, file] = positionals;
  if (!endpoint || !file) throw new ConfigError(`usage: ${usage}`);
  const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');
  const name = typeof values.name === 'string' ? values.name : basename(file);
  const { xclient, discovery } = await xclientFor(endpoint, '_filetransfer', values, { connectTimeoutMs: Math.min(timeoutMs || 10_000, 10_000) });
  try {
    const progress = new TransferProgress('upload');
    const result = await xclient.sendFile(file, metaOption(values.meta) ?? {}, { fileName: name, timeoutMs, onProgress: progress.update });
    progress.done(name, result);
    return 0;
  } finally {
    await xclient.close();
    await discovery.close();
  }
}
