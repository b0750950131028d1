/**
 * kcp-go's forward error correction layer. Each datagram (after the crypt header, if any) carries a FEC header:
 *
 *     seqid u32 | flag u16 (0xf1 data, 0xf2 parity) | data: size u16 (= 2 + KCP bytes) | KCP segments
 *                                                    | parity: Reed-Solomon parity bytes
 *
 * Sequence ids run over groups of dataShards + parityShards: in every group the first dataShards ids are data packets
 * and the rest parity. Parity is computed over the data packets' bytes from the `size` field on, zero-padded to the
 * longest in the group; a parity packet is as long as that longest data packet. The sequence wraps at the largest
 * multiple of the group size below 2^32, so groups stay aligned.
 *
 * The decoder keeps an ordered window of recent packets (3 groups, 60 s at most) and, as soon as a group has at least
 * dataShards packets but some data packets are missing, rebuilds those from parity and hands them back for KCP input.
 * Packets are copied into the window's own buffers, recycled as entries leave it, instead of a fresh copy per datagram
 * (tens of thousands a second under load, each one more piece of external memory for the collector).
 * (kcp-go's decoder can also auto-tune to a peer's different shard counts; this one expects matching settings.)
 */
import { monotonicMs, type KcpClock } from './arq.js';
import { ReedSolomon } from './reed-solomon.js';
import { readU16, readU32, timeDiff, writeU16, writeU32 } from './segment.js';

export const FEC_HEADER_SIZE = 6;
/** FEC header plus the 2-byte size field of data packets. */
export const FEC_HEADER_SIZE_PLUS2 = FEC_HEADER_SIZE + 2;
export const TYPE_DATA = 0xf1;
export const TYPE_PARITY = 0xf2;
/** Largest datagram kcp-go handles. */
export const MTU_LIMIT = 1500;
const FEC_EXPIRE_MS = 60000;
const RX_FEC_MULTI = 3;

export class FecEncoder {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardSize: number;
  /** Offset of the FEC header inside the datagram (the crypt header comes first). */
  readonly headerOffset: number;
  readonly payloadOffset: number;
  readonly #paws: number;
  #next = 0;
  #shardCount = 0;
  #maxSize = 0;
  readonly #cache: Uint8Array[];
  readonly #lengths: number[];
  readonly #encodeViews: Uint8Array[];
  readonly #parityOut: Uint8Array[];
  /** The longest datagram of the group the views in #encodeViews / #parityOut were made for. */
  #viewsMax = -1;
  readonly #codec: ReedSolomon;

  constructor(dataShards: number, parityShards: number, headerOffset: number) {
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    this.shardSize = dataShards + parityShards;
    this.#paws = Math.floor(0xffffffff / this.shardSize) * this.shardSize;
    this.headerOffset = headerOffset;
    this.payloadOffset = headerOffset + FEC_HEADER_SIZE;
    this.#codec = new ReedSolomon(dataShards, parityShards);
    this.#cache = Array.from({ length: this.shardSize }, () => new Uint8Array(MTU_LIMIT));
    this.#lengths = new Array<number>(this.shardSize).fill(0);
    this.#encodeViews = new Array<Uint8Array>(this.shardSize);
    this.#parityOut = new Array<Uint8Array>(parityShards);
  }

  /**
   * Stamps the FEC header on a data datagram (`packet[0, size)`, FEC header space reserved at `headerOffset`). When this
   * completes a group, returns its parity datagrams (views into internal buffers, valid until the next call), each with
   * `headerOffset` leading bytes left for the crypt header; otherwise returns undefined.
   */
  encode(packet: Uint8Array, size: number): Uint8Array[] | undefined {
    const h = this.headerOffset;
    writeU32(packet, h, this.#next);
    writeU16(packet, h + 4, TYPE_DATA);
    this.#next = (this.#next + 1) >>> 0;
    writeU16(packet, this.payloadOffset, size - this.payloadOffset);

    const shard = this.#cache[this.#shardCount]!;
    // The whole buffer when it fits (KCP's output buffer is MTU-sized): a copy of a few hundred bytes more is cheaper
    // than a view object per datagram; the bytes past `size` are zeroed below before they count.
    if (packet.length <= shard.length) shard.set(packet, 0);
    else shard.set(packet.subarray(this.payloadOffset, size), this.payloadOffset);
    this.#lengths[this.#shardCount] = size;
    this.#shardCount++;
    if (size > this.#maxSize) this.#maxSize = size;
    if (this.#shardCount < this.dataShards) return undefined;

    const max = this.#maxSize;
    for (let i = 0; i < this.dataShards; i++) this.#cache[i]!.fill(0, this.#lengths[i], max);
    // Groups are mostly of full datagrams: the views are kept while the longest length stays the same.
    if (max !== this.#viewsMax) {
      this.#viewsMax = max;
      for (let i = 0; i < this.shardSize; i++) this.#encodeViews[i] = this.#cache[i]!.subarray(this.payloadOffset, max);
      for (let p = 0; p < this.parityShards; p++) this.#parityOut[p] = this.#cache[this.dataShards + p]!.subarray(0, max);
    }
    this.#codec.encode(this.#encodeViews, max - this.payloadOffset);
    for (let p = 0; p < this.parityShards; p++) {
      const out = this.#cache[this.dataShards + p]!;
      writeU32(out, h, this.#next);
      writeU16(out, h + 4, TYPE_PARITY);
      this.#next = (this.#next + 1) % this.#paws; // the sequence only wraps on a parity packet
    }
    this.#shardCount = 0;
    this.#maxSize = 0;
    return this.#parityOut;
  }
}

interface RxEntry {
  seqid: number;
  flag: number;
  /** The whole packet, FEC header included (copied without a view per datagram); `length` bytes follow the header. */
  buffer: Uint8Array;
  length: number;
  ts: number;
}

export interface FecDecoderStats {
  /** Data packets rebuilt from parity. */
  recovered: number;
  parityReceived: number;
  /** Data packets given up on (their group never became recoverable). */
  shortShards: number;
  /** Groups where reconstruction was attempted and failed. */
  errors: number;
}

export class FecDecoder {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardSize: number;
  readonly #rxLimit: number;
  readonly #rx: RxEntry[] = [];
  /** Entries (with their buffers) no longer in the window, for reuse. */
  readonly #free: RxEntry[] = [];
  readonly #shards: (Uint8Array | undefined)[];
  readonly #codec: ReedSolomon;
  readonly #clock: KcpClock;
  readonly stats: FecDecoderStats = { recovered: 0, parityReceived: 0, shortShards: 0, errors: 0 };

  constructor(dataShards: number, parityShards: number, clock: KcpClock = monotonicMs) {
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    this.shardSize = dataShards + parityShards;
    this.#rxLimit = RX_FEC_MULTI * this.shardSize;
    this.#codec = new ReedSolomon(dataShards, parityShards);
    this.#shards = new Array<Uint8Array | undefined>(this.shardSize);
    this.#clock = clock;
  }

  /** Packets in the reorder window (for tests). */
  get pending(): number {
    return this.#rx.length;
  }

  /**
   * Takes one FEC datagram (starting at the FEC header, at least 8 bytes). Returns the data packets it let us rebuild
   * (each `size u16 | KCP bytes | zero padding`: feed `r.subarray(2, size)` to KCP), or undefined.
   */
  decode(packet: Uint8Array): Uint8Array[] | undefined {
    const seqid = readU32(packet, 0);
    const flag = readU16(packet, 4);
    if (flag === TYPE_PARITY) this.stats.parityReceived++;
    const rx = this.#rx;

    let insertAt = 0;
    for (let i = rx.length - 1; i >= 0; i--) {
      const other = rx[i]!.seqid;
      if (other === seqid) return undefined; // duplicate
      if (timeDiff(seqid, other) > 0) {
        insertAt = i + 1;
        break;
      }
    }
    const entry = this.#entry(seqid, flag, packet);
    if (insertAt === rx.length) rx.push(entry);
    else rx.splice(insertAt, 0, entry);

    const size = this.shardSize;
    const offsetInGroup = seqid % size;
    const shardBegin = (seqid - offsetInGroup) >>> 0;
    const shardEnd = (shardBegin + size - 1) >>> 0;
    const searchBegin = Math.max(0, insertAt - offsetInGroup);
    const searchEnd = Math.min(searchBegin + size - 1, rx.length - 1);

    let recovered: Uint8Array[] | undefined;
    if (searchEnd - searchBegin + 1 >= this.dataShards) {
      const shards = this.#shards;
      shards.fill(undefined);
      let numShard = 0;
      let numData = 0;
      let first = 0;
      let maxLen = 0;
      for (let i = searchBegin; i <= searchEnd; i++) {
        const e = rx[i]!;
        if (timeDiff(e.seqid, shardEnd) > 0) break;
        if (timeDiff(e.seqid, shardBegin) < 0) continue;
        if (e.flag === TYPE_DATA) numData++;
        if (numShard === 0) first = i;
        numShard++;
        if (e.length > maxLen) maxLen = e.length;
      }

      if (numData === this.dataShards) {
        this.#remove(first, numShard); // nothing lost in this group
      } else if (numShard >= this.dataShards) {
        // Shards zero-padded to the longest, as the encoder computed parity over them.
        for (let i = first; i < first + numShard; i++) {
          const e = rx[i]!;
          const end = FEC_HEADER_SIZE + maxLen;
          if (e.buffer.length < end) {
            const wider = new Uint8Array(end);
            wider.set(e.buffer.subarray(0, FEC_HEADER_SIZE + e.length), 0);
            e.buffer = wider;
          }
          e.buffer.fill(0, FEC_HEADER_SIZE + e.length, end);
          shards[e.seqid % size] = e.buffer.subarray(FEC_HEADER_SIZE, end);
        }
        const missing: number[] = [];
        for (let k = 0; k < this.dataShards; k++) if (!shards[k]) missing.push(k);
        if (this.#codec.reconstructData(shards)) {
          recovered = missing.map((k) => shards[k]!);
          this.stats.recovered += missing.length;
        } else {
          this.stats.errors++;
        }
        shards.fill(undefined);
        this.#remove(first, numShard);
      }
    }

    if (rx.length > this.#rxLimit) {
      if (rx[0]!.flag === TYPE_DATA) this.stats.shortShards++;
      this.#remove(0, 1);
    }

    const now = this.#clock();
    let expired = 0;
    while (expired < rx.length && timeDiff(now, rx[expired]!.ts) > FEC_EXPIRE_MS) expired++;
    if (expired > 0) this.#remove(0, expired);
    return recovered;
  }

  /** A window entry holding a copy of `packet`. */
  #entry(seqid: number, flag: number, packet: Uint8Array): RxEntry {
    let entry = this.#free.pop();
    if (!entry) entry = { seqid: 0, flag: 0, buffer: new Uint8Array(Math.max(MTU_LIMIT, packet.length)), length: 0, ts: 0 };
    else if (entry.buffer.length < packet.length) entry.buffer = new Uint8Array(packet.length);
    entry.seqid = seqid;
    entry.flag = flag;
    entry.buffer.set(packet, 0);
    entry.length = packet.length - FEC_HEADER_SIZE;
    entry.ts = this.#clock();
    return entry;
  }

  /** Takes `count` entries out of the window at `start`, keeping them for reuse. */
  #remove(start: number, count: number): void {
    const rx = this.#rx;
    for (let i = start; i < start + count; i++) {
      if (this.#free.length < this.#rxLimit + 1) this.#free.push(rx[i]!);
    }
    rx.splice(start, count);
  }
}
