/** Flag values → typed settings, each mistake a ConfigError naming the flag. */
import { ConfigError, serializeTypeFromName } from '../index.js';

export function serializeOption(value: unknown, fallback: string): number {
  const name = typeof value === 'string' ? value : fallback;
  const type = serializeTypeFromName(name);
  if (type === undefined) throw new ConfigError(`--serialize takes json, msgpack, raw, protobuf or a number, got "${name}"`);
  return type;
}

/** `--meta k=v` (repeatable) → metadata object. */
export function metaOption(value: unknown, flag = 'meta'): Record<string, string> | undefined {
  const list = Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
  if (list.length === 0) return undefined;
  const metadata: Record<string, string> = {};
  for (const pair of list) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--${flag} takes key=value, got "${pair}"`);
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return metadata;
}

export interface NumberRule {
  /** Smallest accepted value (default 0). */
  min?: number;
  integer?: boolean;
}

/** A number flag: absent → fallback; anything but a finite number within the rule → ConfigError naming the flag. */
export function numberOption(value: unknown, fallback: number, name: string, rule: NumberRule = {}): number {
  if (value === undefined) return fallback;
  const text = String(value).trim();
  const n = text === '' ? NaN : Number(text);
  const min = rule.min ?? 0;
  const kind = rule.integer ? 'an integer' : 'a number';
  if (!Number.isFinite(n) || (rule.integer && !Number.isInteger(n)) || n < min) {
    throw new ConfigError(`--${name} takes ${kind} ${min === 0 ? '≥ 0' : `≥ ${min}`}, got "${String(value)}"`);
  }
  return n;
}

/** `Service.Method` → parts (split at the last dot, as rpcx's gateway does). */
export function serviceMethod(text: string | undefined): { service: string; method: string } {
  const dot = text ? text.lastIndexOf('.') : -1;
  if (!text || dot <= 0 || dot === text.length - 1) throw new ConfigError(`expected Service.Method, got "${text ?? ''}"`);
  return { service: text.slice(0, dot), method: text.slice(dot + 1) };
}

/** A JSON flag or argument, parsed, or ConfigError naming where it came from. */
export function jsonOption(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${where} must be JSON: ${(error as Error).message} (got ${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '…' : text)})`);
  }
}
