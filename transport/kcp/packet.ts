/**
 * The datagram pipeline between one KCP control block and the socket, in kcp-go's order:
 *
 *     out: KCP segments -> FEC header (+ parity datagrams every dataShards) -> nonce + crc32 -> encrypt -> socket
 *     in:  socket -> decrypt + check crc32 (done once per datagram by the owner of the socket, see `openDatagram`)
 *          -> FEC (data: to KCP; parity: recovery of lost data) -> KCP input
 *
 * The KCP block reserves `headerSize` bytes at the front of every output buffer for the crypt and FEC headers.
 *
 * Between `beginBatch()` and `endBatch()` (the session brackets each KCP flush with them) the datagrams a flush emits
 * are staged in one buffer, each at a 16-byte boundary, and sealed with one cipher call for all of them; then each goes
 * to the sink as a view of that one output buffer. A flush under load emits several datagrams, and a cipher call costs
 * a fresh output buffer (external memory the collector has to sweep) plus a fixed overhead per call. The bytes on the
 * wire are the same as sealing each datagram alone: the running CFB cipher continues across block-aligned datagrams.
 */
import { type Kcp } from './arq.js';
import { CRYPT_HEADER_SIZE, PacketCrypt, type BlockCrypt } from './crypt.js';
import { FEC_HEADER_SIZE_PLUS2, FecDecoder, FecEncoder, TYPE_DATA, TYPE_PARITY } from './fec.js';
import { KCP_OVERHEAD, readU16, readU32, span } from './segment.js';

export type DatagramSink = (datagram: Uint8Array) => void;

/** Decrypts and checks a datagram when a block crypt is set; returns the plaintext after the crypt header, or undefined. */
export function openDatagram(crypt: PacketCrypt | undefined, datagram: Uint8Array): Uint8Array | undefined {
  if (!crypt) return datagram;
  return crypt.open(datagram);
}

/** Conversation id and una of a datagram's first segment, as `conversationOf` reads them. */
export interface ConversationId {
  conv: number;
  una: number;
}

/**
 * Reads the conversation id and una of a plaintext datagram's first segment into `out`; false when it carries none
 * (a FEC parity datagram, or too short).
 */
export function conversationOf(body: Uint8Array, out: ConversationId): boolean {
  if (body.length < KCP_OVERHEAD) return false;
  const flag = readU16(body, 4);
  let off = 0;
  if (flag === TYPE_DATA || flag === TYPE_PARITY) {
    if (flag === TYPE_PARITY || body.length < FEC_HEADER_SIZE_PLUS2 + KCP_OVERHEAD) return false;
    off = FEC_HEADER_SIZE_PLUS2;
  }
  out.conv = readU32(body, off);
  out.una = readU32(body, off + 16);
  return true;
}

export interface PacketStats {
  inDatagrams: number;
  outDatagrams: number;
  /** KCP input errors (foreign conversation, malformed). */
  inErrors: number;
  /** Datagrams rebuilt by FEC and accepted by KCP. */
  fecRecovered: number;
}

/** Largest run of staged datagrams sealed with one cipher call; a longer flush is sealed in several runs. */
const BATCH_BYTES = 64 * 1024;
const BLOCK = 16;

export class PacketPipeline {
  readonly headerSize: number;
  readonly crypt: PacketCrypt | undefined;
  readonly fecEncoder: FecEncoder | undefined;
  readonly fecDecoder: FecDecoder | undefined;
  readonly stats: PacketStats = { inDatagrams: 0, outDatagrams: 0, inErrors: 0, fecRecovered: 0 };
  readonly #sink: DatagramSink;
  #batching = false;
  /** Staged datagrams of the current batch: bytes at 16-byte boundaries, their offsets and lengths. */
  #staging: Uint8Array | undefined;
  #stagedBytes = 0;
  /** Offsets and lengths of the staged datagrams, `#stagedCount` of them valid (the arrays keep their size). */
  readonly #stagedOffsets: number[] = [];
  readonly #stagedLengths: number[] = [];
  #stagedCount = 0;

  constructor(block: BlockCrypt | undefined, dataShards: number, parityShards: number, sink: DatagramSink) {
    this.crypt = block ? new PacketCrypt(block) : undefined;
    const cryptHeader = block ? CRYPT_HEADER_SIZE : 0;
    if (dataShards > 0 && parityShards > 0) {
      this.fecEncoder = new FecEncoder(dataShards, parityShards, cryptHeader);
      this.fecDecoder = new FecDecoder(dataShards, parityShards);
    }
    this.headerSize = cryptHeader + (this.fecEncoder ? FEC_HEADER_SIZE_PLUS2 : 0);
    this.#sink = sink;
  }

  /** The KCP output callback: `buffer[0, size)` with `headerSize` bytes reserved at the front. */
  readonly output = (buffer: Uint8Array, size: number): void => {
    if (size < KCP_OVERHEAD + this.headerSize) return;
    const parity = this.fecEncoder?.encode(buffer, size);
    this.#emit(span(buffer, 0, size));
    if (parity) for (let i = 0; i < parity.length; i++) this.#emit(parity[i]!);
  };

  /** From now until `endBatch()`, datagrams are staged and sealed together. */
  beginBatch(): void {
    this.#batching = true;
  }

  /** Seals and sends what was staged since `beginBatch()`. */
  endBatch(): void {
    this.#batching = false;
    if (this.#stagedBytes > 0) this.#sendStaged();
  }

  #emit(packet: Uint8Array): void {
    this.stats.outDatagrams++;
    if (this.#batching) return this.#stage(packet);
    // Sealing encrypts into a new buffer; without crypt, copy, since the KCP buffer is reused at once and the socket
    // may still hold the bytes.
    this.#sink(this.crypt ? this.crypt.seal(packet) : Buffer.from(packet));
  }

  #stage(packet: Uint8Array): void {
    const length = packet.length;
    const padded = (length + BLOCK - 1) & -BLOCK;
    if (this.#stagedBytes + padded > BATCH_BYTES && this.#stagedBytes > 0) this.#sendStaged();
    let staging = this.#staging;
    if (!staging || staging.length < this.#stagedBytes + padded) {
      staging = this.#staging = new Uint8Array(Math.max(BATCH_BYTES, padded));
    }
    const offset = this.#stagedBytes;
    staging.set(packet, offset);
    this.crypt?.stamp(staging, offset, length);
    this.#stagedOffsets[this.#stagedCount] = offset;
    this.#stagedLengths[this.#stagedCount++] = length;
    this.#stagedBytes = offset + padded;
  }

  #sendStaged(): void {
    const run = this.#staging!.subarray(0, this.#stagedBytes);
    // A new buffer either way: the socket may still hold the bytes when the staging buffer is refilled.
    const sealed = this.crypt ? this.crypt.block.encryptNonced(run) : Buffer.from(run);
    const offsets = this.#stagedOffsets;
    const lengths = this.#stagedLengths;
    const count = this.#stagedCount;
    this.#stagedBytes = 0;
    this.#stagedCount = 0;
    if (count === 1) this.#sink(sealed.subarray(0, lengths[0]));
    else for (let i = 0; i < count; i++) this.#sink(sealed.subarray(offsets[i], offsets[i]! + lengths[i]!));
  }

  /**
   * Feeds a plaintext datagram (after `openDatagram`) to `kcp`. Returns the OR of the KCP input flags, or a negative
   * value when nothing was accepted.
   */
  input(kcp: Kcp, body: Uint8Array): number {
    this.stats.inDatagrams++;
    if (body.length < KCP_OVERHEAD) return -1;
    const flag = readU16(body, 4);
    // KCP's cmd (81..84) and frg bytes can never read as 0x00f1 / 0x00f2, so the flag tells FEC packets apart.
    if (flag !== TYPE_DATA && flag !== TYPE_PARITY) return this.#kcpInput(kcp, body, true);
    if (body.length < FEC_HEADER_SIZE_PLUS2) return -1;
    let result = -1;
    const recovered = this.fecDecoder?.decode(body);
    if (flag === TYPE_DATA) result = this.#kcpInput(kcp, body.subarray(FEC_HEADER_SIZE_PLUS2), true);
    if (recovered) {
      for (const r of recovered) {
        const size = r.length >= 2 ? readU16(r, 0) : 0;
        if (size < 2 || size > r.length) {
          this.stats.inErrors++;
          continue;
        }
        const flags = this.#kcpInput(kcp, r.subarray(2, size), false);
        if (flags >= 0) {
          this.stats.fecRecovered++;
          result = result < 0 ? flags : result | flags;
        }
      }
    }
    return result;
  }

  #kcpInput(kcp: Kcp, data: Uint8Array, regular: boolean): number {
    const flags = kcp.input(data, regular);
    if (flags < 0) this.stats.inErrors++;
    return flags;
  }
}
