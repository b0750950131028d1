/**
 * Reed-Solomon erasure coding over GF(2^8), bit-compatible with klauspost/reedsolomon's default code (the one kcp-go's
 * FEC uses), so parity computed here equals parity computed there:
 *
 * - the field is GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11d, "generating polynomial 29"), generator 2;
 * - the encoding matrix is the (data + parity) x data Vandermonde matrix, entry (r, c) = r^c, multiplied by the inverse
 *   of its top square, so that the top square becomes the identity (data shards pass through unchanged) and the
 *   remaining rows produce parity;
 * - parity shard i, byte k = XOR over data shards j of matrix[data + i][j] * data[j][k].
 *
 * Reconstruction of missing data shards takes the rows of the first `dataShards` present shards, inverts that square,
 * and multiplies. Inverted matrices are cached per pattern of present shards.
 *
 * The row products run in WebAssembly SIMD (galois-simd.ts) where available, else with per-byte multiplication tables.
 */
import { ConfigError, KcpFecError } from '../../errors.js';
import { GaloisSimd } from './galois-simd.js';

const FIELD = 256;
const POLY = 0x11d;

/** exp[i] = 2^i, doubled in length so exp[log a + log b] needs no modulo. */
const EXP = new Uint8Array(FIELD * 2);
const LOG = new Uint8Array(FIELD);
{
  let x = 1;
  for (let i = 0; i < FIELD - 1; i++) {
    EXP[i] = x;
    EXP[i + FIELD - 1] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= POLY;
  }
}

/** Full multiplication table: MUL[a * 256 + b] = a * b. */
const MUL = new Uint8Array(FIELD * FIELD);
for (let a = 1; a < FIELD; a++) {
  for (let b = 1; b < FIELD; b++) MUL[a * FIELD + b] = EXP[LOG[a]! + LOG[b]!]!;
}

export function galMultiply(a: number, b: number): number {
  return MUL[(a << 8) | b]!;
}

export function galDivide(a: number, b: number): number {
  if (a === 0) return 0;
  if (b === 0) throw new KcpFecError('rpcx: kcp reed-solomon: division by zero');
  let l = LOG[a]! - LOG[b]!;
  if (l < 0) l += FIELD - 1;
  return EXP[l]!;
}

/** a^n in the field. */
export function galExp(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a]! * n) % (FIELD - 1)]!;
}

type Matrix = Uint8Array[];

function newMatrix(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Uint8Array(cols));
}

function multiply(a: Matrix, b: Matrix): Matrix {
  const cols = b[0]!.length;
  const out = newMatrix(a.length, cols);
  for (let r = 0; r < a.length; r++) {
    const row = a[r]!;
    for (let c = 0; c < cols; c++) {
      let v = 0;
      for (let i = 0; i < row.length; i++) v ^= galMultiply(row[i]!, b[i]![c]!);
      out[r]![c] = v;
    }
  }
  return out;
}

/** Inverse of a square matrix by Gauss-Jordan elimination; throws if singular. */
export function invertMatrix(m: Matrix): Matrix {
  const n = m.length;
  const work = m.map((row, r) => {
    const wide = new Uint8Array(n * 2);
    wide.set(row, 0);
    wide[n + r] = 1;
    return wide;
  });
  for (let r = 0; r < n; r++) {
    if (work[r]![r] === 0) {
      let below = r + 1;
      while (below < n && work[below]![r] === 0) below++;
      if (below === n) throw new KcpFecError('rpcx: kcp reed-solomon: matrix is singular');
      [work[r], work[below]] = [work[below]!, work[r]!];
    }
    const pivotRow = work[r]!;
    const pivot = pivotRow[r]!;
    if (pivot !== 1) {
      const scale = galDivide(1, pivot);
      for (let c = 0; c < n * 2; c++) pivotRow[c] = galMultiply(pivotRow[c]!, scale);
    }
    for (let other = 0; other < n; other++) {
      if (other === r) continue;
      const row = work[other]!;
      const factor = row[r]!;
      if (factor === 0) continue;
      for (let c = 0; c < n * 2; c++) row[c] = row[c]! ^ galMultiply(factor, pivotRow[c]!);
    }
  }
  return work.map((row) => row.slice(n));
}

/** klauspost/reedsolomon's `buildMatrix`: Vandermonde times the inverse of its top square. */
export function buildEncodingMatrix(dataShards: number, totalShards: number): Matrix {
  const vm = newMatrix(totalShards, dataShards);
  for (let r = 0; r < totalShards; r++) for (let c = 0; c < dataShards; c++) vm[r]![c] = galExp(r, c);
  const topInverse = invertMatrix(vm.slice(0, dataShards));
  return multiply(vm, topInverse);
}

/** out[k] ^= coefficient * input[k] (or = when `assign`), for k < length. */
function mulAdd(coefficient: number, input: Uint8Array, out: Uint8Array, length: number, assign: boolean): void {
  if (coefficient === 0) {
    if (assign) out.fill(0, 0, length);
    return;
  }
  if (coefficient === 1) {
    if (assign) out.set(input.subarray(0, length), 0);
    else for (let k = 0; k < length; k++) out[k] = out[k]! ^ input[k]!;
    return;
  }
  const table = MUL.subarray(coefficient << 8, (coefficient << 8) + FIELD);
  if (assign) for (let k = 0; k < length; k++) out[k] = table[input[k]!]!;
  else for (let k = 0; k < length; k++) out[k] = out[k]! ^ table[input[k]!]!;
}

/** The SIMD kernel, created on first use; null where unavailable. */
let simdKernel: GaloisSimd | null | undefined;

function kernel(): GaloisSimd | null {
  if (simdKernel === undefined) simdKernel = GaloisSimd.create(galMultiply) ?? null;
  return simdKernel;
}

export interface ReedSolomonOptions {
  /** Use the per-byte JS tables even where WebAssembly SIMD is available (for tests comparing both). */
  portable?: boolean;
}

/** What every codec of one shape shares: the matrix, its parity rows, and the inverses found for reconstruction. */
interface Shape {
  matrix: Matrix;
  parityRows: Matrix;
  inverses: Map<string, Matrix>;
}

/**
 * Shapes by "data/parity". Every KCP session has an encoder and a decoder of the same shape; sharing the matrices saves
 * building them per session, and lets the SIMD kernel keep one shape's tables in memory across sessions.
 */
const shapes = new Map<string, Shape>();

function shapeOf(dataShards: number, parityShards: number): Shape {
  const key = `${dataShards}/${parityShards}`;
  let shape = shapes.get(key);
  if (!shape) {
    const matrix = buildEncodingMatrix(dataShards, dataShards + parityShards);
    shape = { matrix, parityRows: matrix.slice(dataShards), inverses: new Map() };
    shapes.set(key, shape);
  }
  return shape;
}

/** Decode matrices kept per shape (one per pattern of present shards seen). */
const MAX_CACHED_INVERSES = 1024;

export class ReedSolomon {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  /** The encoding matrix (totalShards x dataShards), shared by every codec of this shape: never modify it. */
  readonly matrix: Matrix;
  readonly #inverseCache: Map<string, Matrix>;
  readonly #parityRows: Matrix;
  readonly #simd: GaloisSimd | null;

  constructor(dataShards: number, parityShards: number, options: ReedSolomonOptions = {}) {
    if (!Number.isInteger(dataShards) || !Number.isInteger(parityShards) || dataShards <= 0 || parityShards <= 0) {
      throw new ConfigError(`rpcx: kcp reed-solomon: bad shard counts ${dataShards}/${parityShards}`);
    }
    if (dataShards + parityShards > 256) throw new ConfigError('rpcx: kcp reed-solomon: at most 256 shards');
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    this.totalShards = dataShards + parityShards;
    const shape = shapeOf(dataShards, parityShards);
    this.matrix = shape.matrix;
    this.#parityRows = shape.parityRows;
    this.#inverseCache = shape.inverses;
    this.#simd = options.portable ? null : kernel();
  }

  /** True when the products run in WebAssembly SIMD. */
  get simd(): boolean {
    return this.#simd !== null;
  }

  /**
   * Computes the parity shards from the data shards. `shards` holds dataShards + parityShards buffers; the first
   * `length` bytes (default: the first shard's length) of each data shard are read and of each parity shard written.
   */
  encode(shards: Uint8Array[], length: number = shards[0]!.length): void {
    if (shards.length !== this.totalShards) throw new KcpFecError('rpcx: kcp reed-solomon: wrong number of shards');
    for (let i = 0; i < this.totalShards; i++) {
      if (shards[i]!.length < length) throw new KcpFecError('rpcx: kcp reed-solomon: shard shorter than the length encoded');
    }
    const data = shards.slice(0, this.dataShards);
    const parity = shards.slice(this.dataShards);
    this.#multiply(this.#parityRows, data, parity, length);
  }

  /** outputs[r] = rows[r] x inputs, over the first `length` bytes. */
  #multiply(rows: Matrix, inputs: Uint8Array[], outputs: Uint8Array[], length: number): void {
    if (this.#simd) {
      this.#simd.mulRows(rows, inputs, outputs, length);
      return;
    }
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      for (let c = 0; c < inputs.length; c++) mulAdd(row[c]!, inputs[c]!, outputs[r]!, length, c === 0);
    }
  }

  /** True when the parity shards match the data shards. */
  verify(shards: Uint8Array[]): boolean {
    const length = shards[0]!.length;
    const parity = Array.from({ length: this.parityShards }, () => new Uint8Array(length));
    this.encode([...shards.slice(0, this.dataShards), ...parity], length);
    return parity.every((p, i) => Buffer.compare(p, shards[this.dataShards + i]!.subarray(0, length)) === 0);
  }

  /**
   * Rebuilds the missing (undefined) data shards in place, from any `dataShards` present shards of equal length.
   * Parity shards are not rebuilt. Returns false when too few shards are present.
   */
  reconstructData(shards: (Uint8Array | undefined)[]): boolean {
    if (shards.length !== this.totalShards) throw new KcpFecError('rpcx: kcp reed-solomon: wrong number of shards');
    let length = -1;
    let present = 0;
    let missingData = 0;
    for (let i = 0; i < this.totalShards; i++) {
      const s = shards[i];
      if (s) {
        if (length < 0) length = s.length;
        else if (s.length !== length) throw new KcpFecError('rpcx: kcp reed-solomon: shards differ in size');
        present++;
      } else if (i < this.dataShards) missingData++;
    }
    if (missingData === 0) return true;
    if (present < this.dataShards) return false;

    // The first dataShards present shards, and the rows of the encoding matrix that produced them.
    const validIndices: number[] = [];
    for (let i = 0; i < this.totalShards && validIndices.length < this.dataShards; i++) if (shards[i]) validIndices.push(i);
    const key = validIndices.join(',');
    let decode = this.#inverseCache.get(key);
    if (!decode) {
      decode = invertMatrix(validIndices.map((i) => this.matrix[i]!));
      if (this.#inverseCache.size >= MAX_CACHED_INVERSES) this.#inverseCache.clear();
      this.#inverseCache.set(key, decode);
    }
    const inputs = validIndices.map((i) => shards[i]!);
    const rows: Matrix = [];
    const outputs: Uint8Array[] = [];
    for (let d = 0; d < this.dataShards; d++) {
      if (shards[d]) continue;
      rows.push(decode[d]!);
      outputs.push((shards[d] = new Uint8Array(length)));
    }
    this.#multiply(rows, inputs, outputs, length);
    return true;
  }
}
