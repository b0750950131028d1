/** Option parsing shared by the CLI commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, serializeTypeFromName } from '../index.js';

export function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>): { values: Record<string, unknown>; positionals: string[] } {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  return { values: values as Record<string, unknown>, positionals };
}

export function serializeOption(value: unknown, fallback: string): number {
  const name = typeof value === 'string' ? value : fallback;
  const type = serializeTypeFromName(name);
  if (type === undefined) throw new ConfigError(`unknown serialize type "${name}" (json, msgpack, raw, protobuf or a number)`);
  return type;
}

/** `--meta k=v` (repeatable) → metadata object. */
export function metaOption(value: unknown): Record<string, string> | undefined {
  const list = Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
  if (list.length === 0) return undefined;
  const metadata: Record<string, string> = {};
  for (const pair of list) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--meta takes key=value, got "${pair}"`);
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return metadata;
}

export function numberOption(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${name} takes a non-negative number, got "${String(value)}"`);
  return n;
}

/** `Service.Method` → parts (split at the last dot, as rpcx's gateway does). */
export function serviceMethod(text: string | undefined): { service: string; method: string } {
  const dot = text ? text.lastIndexOf('.') : -1;
  if (!text || dot <= 0 || dot === text.length - 1) throw new ConfigError(`expected Service.Method, got "${text ?? ''}"`);
  return { service: text.slice(0, dot), method: text.slice(dot + 1) };
}
