/**
 * GF(2^8) row products for Reed-Solomon, in WebAssembly SIMD: out[k] = XOR over j of c_j * in_j[k].
 *
 * Multiplying bytes by a constant c is done 16 bytes at a time with the split-nibble method (the one klauspost's
 * reedsolomon uses with SSSE3 pshufb): c * x = low[x & 15] ^ high[x >> 4], where low and high are 16-entry tables of
 * c * i and c * (i << 4), looked up for 16 bytes at once with `i8x16.swizzle`. Per-byte table lookups in JS cost about
 * 1 ns a byte; this is over ten times faster, which is most of what FEC costs per datagram.
 *
 * The module is one function over its own memory, built below from named opcodes (no toolchain, nothing fetched):
 *
 *     mulRow(tables, in, stride, count, out, n):
 *       for k = 0; k < n; k += 16:                      n is a multiple of 16
 *         acc = 0
 *         for j = 0; j < count; j++:                     count >= 1
 *           x = load128(in + j * stride + k)
 *           acc ^= swizzle(load128(tables + 32j), x & 15) ^ swizzle(load128(tables + 32j + 16), x >> 4)
 *         store128(out + k, acc)
 *
 * Data is copied into the module's memory and the products copied out: one contiguous scratch area shared by every
 * caller in the process (JS is single-threaded and the work is synchronous).
 */
import { span } from './segment.js';

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  simd: 0xfd,
} as const;
const simd = { v128Load: 0x00, v128Store: 0x0b, v128Const: 0x0c, swizzle: 0x0e, splat: 0x0f, and: 0x4e, xor: 0x51, shrU: 0x6d } as const;
const VOID_BLOCK = 0x40;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function name(text: string): number[] {
  return [...leb(text.length), ...Buffer.from(text, 'ascii')];
}

/** memarg: alignment exponent 0 (loads may be unaligned), then the offset. */
function mem(offset: number): number[] {
  return [0, ...leb(offset)];
}

/** The module's bytes (exported for tests). */
export function buildGaloisModule(): Uint8Array<ArrayBuffer> {
  // Parameters 0..5: tables, in, stride, count, out, n. Locals: k 6, j 7, p 8, t 9 (i32); acc 10, x 11, mask 12 (v128).
  const [tables, input, stride, count, out, n, k, j, p, t, acc, x, mask] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const get = (i: number): number[] => [op.localGet, i];
  const set = (i: number): number[] => [op.localSet, i];
  const v = (code: number, ...rest: number[]): number[] => [op.simd, ...leb(code), ...rest];
  const body = [
    ...[2, 4, I32, 3, V128], // local declarations: 4 x i32, 3 x v128
    ...[op.i32Const, 15, ...v(simd.splat), ...set(mask)],
    ...[op.block, VOID_BLOCK, op.loop, VOID_BLOCK],
    ...[...get(k), ...get(n), op.i32GeU, op.brIf, 1],
    ...[...v(simd.v128Const, ...new Array<number>(16).fill(0)), ...set(acc)],
    ...[...get(input), ...get(k), op.i32Add, ...set(p)],
    ...[...get(tables), ...set(t)],
    ...[...get(count), ...set(j)],
    ...[op.loop, VOID_BLOCK],
    ...[...get(p), ...v(simd.v128Load, ...mem(0)), ...set(x)],
    ...get(acc),
    ...[...get(t), ...v(simd.v128Load, ...mem(0)), ...get(x), ...get(mask), ...v(simd.and), ...v(simd.swizzle)],
    ...[...get(t), ...v(simd.v128Load, ...mem(16)), ...get(x), op.i32Const, 4, ...v(simd.shrU), ...v(simd.swizzle)],
    ...[...v(simd.xor), ...v(simd.xor), ...set(acc)],
    ...[...get(p), ...get(stride), op.i32Add, ...set(p)],
    ...[...get(t), op.i32Const, 32, op.i32Add, ...set(t)],
    ...[...get(j), op.i32Const, 1, op.i32Sub, op.localTee, j, op.brIf, 0],
    op.end,
    ...[...get(out), ...get(k), op.i32Add, ...get(acc), ...v(simd.v128Store, ...mem(0))],
    ...[...get(k), op.i32Const, 16, op.i32Add, ...set(k)],
    ...[op.br, 0, op.end, op.end, op.end],
  ];
  const funcType = [0x60, 6, I32, I32, I32, I32, I32, I32, 0];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, ...funcType]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]), // one memory, no maximum, 1 page
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('mulRow'), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

type MulRow = (tables: number, input: number, stride: number, count: number, out: number, n: number) => void;

const PAGE = 65536;

/** Split-nibble tables of every coefficient: NIBBLES[32c, 32c + 16) = c * i, [32c + 16, 32c + 32) = c * (i << 4). */
function nibbleTables(multiply: (a: number, b: number) => number): Uint8Array {
  const tables = new Uint8Array(256 * 32);
  for (let c = 0; c < 256; c++) {
    for (let i = 0; i < 16; i++) {
      tables[c * 32 + i] = multiply(c, i);
      tables[c * 32 + 16 + i] = multiply(c, i << 4);
    }
  }
  return tables;
}

export class GaloisSimd {
  readonly #memory: WebAssembly.Memory;
  readonly #mulRow: MulRow;
  readonly #nibbles: Uint8Array;
  #bytes: Uint8Array;
  /** The coefficient rows whose tables are in memory now (so a fixed encoding matrix is written once). */
  #tablesOf: readonly Uint8Array[] | undefined;

  private constructor(memory: WebAssembly.Memory, mulRow: MulRow, multiply: (a: number, b: number) => number) {
    this.#memory = memory;
    this.#mulRow = mulRow;
    this.#nibbles = nibbleTables(multiply);
    this.#bytes = new Uint8Array(memory.buffer);
  }

  /** The kernel, or undefined where WebAssembly SIMD is unavailable (callers then use their per-byte tables). */
  static create(multiply: (a: number, b: number) => number): GaloisSimd | undefined {
    try {
      const bytes = buildGaloisModule();
      if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return undefined;
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
      const exports = instance.exports as { memory: WebAssembly.Memory; mulRow: MulRow };
      return new GaloisSimd(exports.memory, exports.mulRow, multiply);
    } catch {
      return undefined;
    }
  }

  /**
   * outputs[r][0, length) = XOR over c of rows[r][c] * inputs[c][0, length), for every row. `rows` must not be modified
   * afterwards (its tables are kept in memory across calls).
   */
  mulRows(rows: readonly Uint8Array[], inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], length: number): void {
    const cols = inputs.length;
    const stride = (length + 15) & ~15;
    const tablesSize = rows.length * cols * 32;
    const inBase = tablesSize;
    const outBase = inBase + cols * stride;
    const needed = outBase + rows.length * stride;
    if (needed > this.#bytes.length) {
      this.#memory.grow(Math.ceil((needed - this.#bytes.length) / PAGE));
      this.#bytes = new Uint8Array(this.#memory.buffer);
    }
    const bytes = this.#bytes;
    if (this.#tablesOf !== rows) {
      const nibbles = this.#nibbles;
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        for (let c = 0; c < cols; c++) {
          const coefficient = row[c]! * 32;
          bytes.set(nibbles.subarray(coefficient, coefficient + 32), (r * cols + c) * 32);
        }
      }
      this.#tablesOf = rows;
    }
    for (let c = 0; c < cols; c++) bytes.set(span(inputs[c]!, 0, length), inBase + c * stride);
    for (let r = 0; r < rows.length; r++) this.#mulRow(r * cols * 32, inBase, stride, cols, outBase + r * stride, stride);
    for (let r = 0; r < rows.length; r++) outputs[r]!.set(bytes.subarray(outBase + r * stride, outBase + r * stride + length), 0);
  }
}
