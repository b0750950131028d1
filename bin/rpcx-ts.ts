#!/usr/bin/env node
/** The rpcx-ts command line: call, serve-examples, bench. Built only on the public API. */
import 'reflect-metadata';
import { RpcError } from '../index.js';
import { bench, usage as benchUsage } from './commands/bench.js';
import { call, usage as callUsage } from './commands/call.js';
import { replay, usage as replayUsage } from './commands/replay.js';
import { serveExamples, usage as serveUsage } from './commands/serve-examples.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  call,
  'serve-examples': serveExamples,
  bench,
  replay,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`usage:\n  ${callUsage}\n  ${serveUsage}\n  ${benchUsage}\n  ${replayUsage}\n`);
    return name === undefined || name === '--help' || name === 'help' ? 0 : 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = error instanceof RpcError ? `${error.code}: ` : '';
    process.stderr.write(`error: ${code}${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
