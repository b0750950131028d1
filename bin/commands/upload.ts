/** `rpcx-ts upload <endpoint> <file>`: rpcx's SendFile to a server's `_filetransfer` service. */
import { basename } from 'node:path';
import type { Command } from '../command.js';
import { endpointHelp, xclientFlags, xclientFor } from '../discovery-options.js';
import { clientNetworkFlags } from '../network-options.js';
import { transferFlags, transferSettings, TransferProgress } from './transfer-progress.js';

export const upload: Command = {
  name: 'upload',
  summary: "Uploads a file with rpcx's file transfer (_filetransfer.TransferFile), with a progress bar and MB/s.",
  args: '<endpoint> <file>',
  positionals: { min: 2, max: 2 },
  flags: {
    name: { type: 'string', value: 'NAME', help: 'the FileName sent (default: the file\'s base name)' },
    ...transferFlags,
    ...clientNetworkFlags,
    ...xclientFlags,
  },
  details: `${endpointHelp}
Example: rpcx-ts upload tcp@127.0.0.1:8972 ./big.iso --meta owner=me`,

  async run({ values, positionals }) {
    const [endpoint, file] = positionals as [string, string];
    const name = typeof values.name === 'string' ? values.name : basename(file);
    const settings = transferSettings(values);
    const { xclient, discovery } = await xclientFor(endpoint, '_filetransfer', values, settings.client);
    try {
      const progress = new TransferProgress('upload');
      const result = await xclient.sendFile(file, settings.meta, { fileName: name, timeoutMs: settings.timeoutMs, onProgress: progress.update });
      progress.done(name, result);
      return 0;
    } finally {
      await xclient.close();
      await discovery.close();
    }
  },
};
