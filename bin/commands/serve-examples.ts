/** `rpcx-ts serve-examples --listen tcp@127.0.0.1:8972 [--listen ...]`: serves Arith and Echo until stopped. */
import { fileURLToPath } from 'node:url';
import { Server } from '../../index.js';
import { Arith, Echo } from '../../examples/services/index.js';
import type { Command } from '../command.js';
import { runCluster, runServer, serveDetails, serveFlags, serverLogger, serveSettings } from '../serve-runner.js';

export const serveExamples: Command = {
  name: 'serve-examples',
  summary: "Serves the example services Arith (Mul, Add on {A, B} → {C}) and Echo (Echo) of rpcx's examples.",
  args: '',
  positionals: { min: 0, max: 0 },
  flags: serveFlags,
  details: serveDetails,

  async run({ values }) {
    const settings = serveSettings(values);
    if (settings.workers > 1) {
      const modules = ['arith.js', 'echo.js'].map((file) => fileURLToPath(new URL(`../../examples/services/${file}`, import.meta.url)));
      return runCluster(modules, settings, values);
    }
    const server = new Server({ logger: serverLogger(values) });
    server.register(Arith, { metadata: settings.metadata });
    server.register(Echo, { metadata: settings.metadata });
    return runServer(server, settings, values);
  },
};
