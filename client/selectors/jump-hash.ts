/**
 * The hashing rpcx's consistent-hash selector uses: the key string is `/<service>/<method>/<args>` with args printed
 * as Go's `%v` would print them, hashed with 64-bit FNV-1a, then mapped to a bucket by Lamping & Veach's jump
 * consistent hash. The same inputs give the same bucket as rpcx's `JumpConsistentHash`.
 */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const JUMP_MULTIPLIER = 2862933555777941757n;
const encoder = new TextEncoder();

/** 64-bit FNV-1a of the UTF-8 bytes of `text`. */
export function fnv1a64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK64;
  }
  return hash;
}

/** Jump consistent hash: a bucket in [0, buckets) for a 64-bit key. */
export function jumpHash(key: bigint, buckets: number): number {
  if (buckets <= 1) return 0;
  let k = key & MASK64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * JUMP_MULTIPLIER + 1n) & MASK64;
    j = Math.floor((b + 1) * (2147483648 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** rpcx's hash key: `/service/method/args`, FNV-1a 64. */
export function rpcxHashKey(service: string, method: string, args: unknown): bigint {
  return fnv1a64(`/${service}/${method}/${goFormat(args, true)}`);
}

/**
 * A value printed as Go's `%v` prints the corresponding Go value. A plain object stands for a struct; at the top
 * level it prints as a pointer to one (`&{10 20}`), which is how rpcx callers pass args. Fields print in insertion
 * order, which should match the Go struct's field order. Maps print with sorted keys, as Go does.
 */
export function goFormat(value: unknown, topLevel = false): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return goNumber(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return '<nil>';
    case 'function':
    case 'symbol':
      return String(value);
  }
  if (value === null) return '<nil>';
  if (value instanceof Uint8Array || Array.isArray(value)) {
    return `[${Array.from(value as ArrayLike<unknown>, (v) => goFormat(v)).join(' ')}]`;
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [goFormat(k), goFormat(v)] as const).sort((a, b) => compare(a[0], b[0]));
    return `map[${entries.map(([k, v]) => `${k}:${v}`).join(' ')}]`;
  }
  if (value instanceof Date) return value.toISOString();
  const fields = Object.values(value as Record<string, unknown>).map((v) => goFormat(v));
  return `${topLevel ? '&' : ''}{${fields.join(' ')}}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Integers as Go ints; other numbers as Go's `%v` of a float64 (`%g`, shortest digits, e-notation outside [1e-4, 1e6)). */
function goNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return Object.is(n, -0) ? '0' : BigInt(n).toString();
  const [mantissa, exponentText] = n.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(n);
}
