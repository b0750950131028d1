#!/usr/bin/env node
/**
 * The rpcx-ts command line. `rpcx-ts help`, `rpcx-ts <command> --help`; help goes to stdout, errors to stderr, and the
 * exit code says what kind of failure it was (bin/exit-codes.ts).
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { RpcError } from '../index.js';
import { helpText, parseCommand, UsageError, usageLine, type Command } from './command.js';
import { bench } from './commands/bench.js';
import { call } from './commands/call.js';
import { list } from './commands/list.js';
import { replay } from './commands/replay.js';
import { serveExamples } from './commands/serve-examples.js';
import { serve } from './commands/serve.js';
import { upload } from './commands/upload.js';
import { download } from './commands/download.js';
import { ExitCode, exitCodeFor, exitCodeHelp } from './exit-codes.js';

/**
 * Every command, in the order `rpcx-ts help` lists them. A new command is one file in commands/ exporting a Command
 * (bin/command.ts: name, summary, flags with help, positionals, run) and one line here.
 */
const commands: readonly Command[] = [call, list, bench, replay, serve, serveExamples, upload, download];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `rpcx-ts ${pkg.version} (node ${process.version})`;
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'rpcx-ts: call, list, benchmark and serve rpcx services.',
    '',
    'usage: rpcx-ts <command> [arguments] [flags]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'rpcx-ts <command> --help    flags and examples of one command',
    'rpcx-ts --version',
    '',
    exitCodeHelp,
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    const command = topic !== undefined ? commands.find((c) => c.name === topic) : undefined;
    if (topic !== undefined && !command) return usageError(`unknown command "${topic}"`);
    process.stdout.write(command ? helpText(command) : overview());
    return ExitCode.Ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(version() + '\n');
    return ExitCode.Ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) return usageError(`unknown command "${name}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(helpText(command));
    return ExitCode.Ok;
  }
  try {
    return await command.run(parseCommand(command, rest));
  } catch (error) {
    report(error, command);
    return exitCodeFor(error);
  }
}

function usageError(message: string, command?: Command): number {
  process.stderr.write(`error: ${message}\n`);
  process.stderr.write(command ? `usage: ${usageLine(command)}\n(rpcx-ts ${command.name} --help for the flags)\n` : `run "rpcx-ts help" for the commands\n`);
  return ExitCode.Usage;
}

/** One line per error (multi-line texts from libraries are folded), the code first when it has one. */
function report(error: unknown, command: Command): void {
  if (error instanceof UsageError) {
    usageError(error.message, command);
    return;
  }
  const code = error instanceof RpcError ? `${error.code}: ` : '';
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${code}${message.replace(/\s*\n\s*/g, ' ')}\n`);
}

void main(process.argv.slice(2)).then(
  (code) => {
    // Lingering handles (a registry client still connecting, a socket in its close handshake) must not hold the exit.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(ExitCode.Failure);
  },
);
