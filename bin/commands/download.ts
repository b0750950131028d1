/** `rpcx-ts download <endpoint> <name> [<file>]`: rpcx's DownloadFile from a server's `_filetransfer` service. */
import { basename } from 'node:path';
import type { Command } from '../command.js';
import { endpointHelp, xclientFlags, xclientFor } from '../discovery-options.js';
import { clientNetworkFlags } from '../network-options.js';
import { transferFlags, transferSettings, TransferProgress } from './transfer-progress.js';

export const download: Command = {
  name: 'download',
  summary: "Downloads a file with rpcx's file transfer (_filetransfer.DownloadFile), with a progress bar and MB/s.",
  args: '<endpoint> <name> [file | -]',
  positionals: { min: 2, max: 3 },
  flags: { ...transferFlags, ...clientNetworkFlags, ...xclientFlags },
  details: `${endpointHelp}
The file is written to <file> (default: the name's base name in the current directory), or to stdout with -.
Example: rpcx-ts download tcp@127.0.0.1:8972 big.iso ./copy.iso`,

  async run({ values, positionals }) {
    const [endpoint, name, file] = positionals as [string, string, string | undefined];
    const toStdout = file === '-';
    const target = toStdout ? process.stdout : (file ?? basename(name));
    const settings = transferSettings(values);
    const { xclient, discovery } = await xclientFor(endpoint, '_filetransfer', values, settings.client);
    try {
      const progress = new TransferProgress('download');
      const result = await xclient.downloadFile(name, target, settings.meta, { timeoutMs: settings.timeoutMs, onProgress: progress.update });
      // With the file on stdout the summary goes to stderr.
      if (toStdout) process.stderr.write(`download ${name}: ${result.bytes} bytes in ${(result.ms / 1000).toFixed(2)} s\n`);
      else progress.done(name, result);
      return 0;
    } finally {
      await xclient.close();
      await discovery.close();
    }
  },
};
