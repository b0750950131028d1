/** Every command of the CLI, in the order `rpcx-ts help` lists them. A new command is one file and one line here. */
import type { Command } from '../command.js';
import { bench } from './bench.js';
import { call } from './call.js';
import { list } from './list.js';
import { serve } from './serve.js';
import { serveExamples } from './serve-examples.js';

export const commands: readonly Command[] = [call, list, bench, serve, serveExamples];
