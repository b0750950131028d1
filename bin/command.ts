/**
 * One CLI command: its name, a one-line summary, its flags (with help text) and positionals, and the function that
 * runs it. `bin/commands/index.ts` lists them; adding a command is one file and one line there.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../index.js';

export interface Flag {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in help, e.g. `ms` or `FILE`. */
  value?: string;
  help: string;
}

export type Flags = Record<string, Flag>;

export interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** Positional arguments as shown in help, e.g. `<endpoint> <Service.Method> [json]`. */
  args: string;
  /** How many positionals are required and allowed at most (Infinity for a list). */
  positionals: { min: number; max: number };
  flags: Flags;
  /** Longer explanation printed after the flags by `--help`. */
  details?: string;
  /** Runs the command; resolves with the exit code. */
  run(parsed: Parsed): Promise<number>;
}

/** The usage error the CLI prints before the command's usage line (exit code 2). */
export class UsageError extends ConfigError {}

export function usageLine(command: Command): string {
  return ['rpcx-ts', command.name, command.args, Object.keys(command.flags).length > 0 ? '[flags]' : ''].filter(Boolean).join(' ');
}

export function helpText(command: Command): string {
  const rows = Object.entries(command.flags).map(([name, flag]) => {
    const left = `${flag.short ? `-${flag.short}, ` : ''}--${name}${flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : ''}`;
    return [left, flag.help + (flag.multiple ? ' (repeatable)' : '')] as const;
  });
  rows.push(['-h, --help', 'print this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [`${command.summary}`, '', `usage: ${usageLine(command)}`, '', 'flags:', ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`)];
  if (command.details) lines.push('', command.details);
  return lines.join('\n') + '\n';
}

/**
 * Parses argv strictly. A flag value that starts with a dash (`--retries -3`) is taken as the value, so that the
 * command can say what is wrong with it instead of the parser calling it ambiguous.
 */
export function parseCommand(command: Command, argv: string[]): Parsed {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = arg.startsWith('--') && !arg.includes('=') ? command.flags[arg.slice(2)] : undefined;
    const next = argv[i + 1];
    if (flag?.type === 'string' && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, flag] of Object.entries(command.flags)) {
    options[name] = { type: flag.type, ...(flag.multiple ? { multiple: true } : {}), ...(flag.short ? { short: flag.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joined, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const positionals = parsed.positionals;
  if (positionals.length < command.positionals.min) throw new UsageError(`${command.name} needs ${command.args}`);
  if (positionals.length > command.positionals.max) {
    throw new UsageError(`unexpected argument${positionals.length - command.positionals.max > 1 ? 's' : ''}: ${positionals.slice(command.positionals.max).map((p) => JSON.stringify(p)).join(' ')}`);
  }
  return { values: parsed.values as Record<string, unknown>, positionals };
}
