/**
 * The KCP segment: a 24-byte little-endian header followed by `len` bytes of data, as ikcp and kcp-go put it on the
 * wire:
 *
 *     conv u32 | cmd u8 | frg u8 | wnd u16 | ts u32 | sn u32 | una u32 | len u32 | data[len]
 *
 * Several segments may be packed into one datagram. This file holds the constants, the byte helpers shared by the
 * other KCP files, and the in-memory segment record (with the sender-side bookkeeping fields ikcp keeps alongside).
 */

export const KCP_OVERHEAD = 24;

export const CMD_PUSH = 81;
export const CMD_ACK = 82;
export const CMD_WASK = 83;
export const CMD_WINS = 84;

export const RTO_NDL = 30;
export const RTO_MIN = 100;
export const RTO_DEF = 200;
export const RTO_MAX = 60000;
export const ASK_SEND = 1;
export const ASK_TELL = 2;
export const WND_SND = 32;
export const WND_RCV = 32;
export const MTU_DEF = 1400;
export const INTERVAL_DEF = 100;
export const DEADLINK = 20;
export const THRESH_INIT = 2;
export const THRESH_MIN = 2;
export const PROBE_INIT = 7000;
export const PROBE_LIMIT = 120000;

export function readU16(buf: Uint8Array, off: number): number {
  return buf[off]! | (buf[off + 1]! << 8);
}

export function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

export function writeU16(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value;
  buf[off + 1] = value >>> 8;
}

export function writeU32(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value;
  buf[off + 1] = value >>> 8;
  buf[off + 2] = value >>> 16;
  buf[off + 3] = value >>> 24;
}

/**
 * bytes[start, end) without allocating a view when that is all of `bytes` (the common case on the hot paths: whole
 * segments, whole writes): every view is one more object for the collector, several per datagram.
 */
export function span(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
}

/** Signed 32-bit difference of two wrapping u32 counters (sequence numbers, millisecond timestamps). */
export function timeDiff(later: number, earlier: number): number {
  return (later - earlier) | 0;
}

/** A decoded segment header. */
export interface SegmentHeader {
  conv: number;
  cmd: number;
  frg: number;
  wnd: number;
  ts: number;
  sn: number;
  una: number;
  len: number;
}

/** Writes a segment header at `off`; returns the offset just past it. */
export function encodeHeader(buf: Uint8Array, off: number, h: SegmentHeader): number {
  writeU32(buf, off, h.conv);
  buf[off + 4] = h.cmd;
  buf[off + 5] = h.frg;
  writeU16(buf, off + 6, h.wnd);
  writeU32(buf, off + 8, h.ts);
  writeU32(buf, off + 12, h.sn);
  writeU32(buf, off + 16, h.una);
  writeU32(buf, off + 20, h.len);
  return off + KCP_OVERHEAD;
}

/** Reads a segment header at `off` into `out` (no bounds checks: the caller makes sure 24 bytes are there). */
export function decodeHeader(buf: Uint8Array, off: number, out: SegmentHeader): SegmentHeader {
  out.conv = readU32(buf, off);
  out.cmd = buf[off + 4]!;
  out.frg = buf[off + 5]!;
  out.wnd = readU16(buf, off + 6);
  out.ts = readU32(buf, off + 8);
  out.sn = readU32(buf, off + 12);
  out.una = readU32(buf, off + 16);
  out.len = readU32(buf, off + 20);
  return out;
}

/** One segment in a queue, with the sender's retransmission bookkeeping. Pooled and reused by the ARQ core. */
export class Segment implements SegmentHeader {
  conv = 0;
  cmd = 0;
  frg = 0;
  wnd = 0;
  ts = 0;
  sn = 0;
  una = 0;
  /** Bytes used in `data`. */
  len = 0;
  rto = 0;
  xmit = 0;
  resendts = 0;
  fastack = 0;
  acked = false;
  /** Backing store; its capacity is at least the MSS it was allocated for. */
  data: Uint8Array;

  constructor(capacity: number) {
    this.data = new Uint8Array(capacity);
  }

  reset(): void {
    this.conv = this.cmd = this.frg = this.wnd = this.ts = this.sn = this.una = this.len = 0;
    this.rto = this.xmit = this.resendts = this.fastack = 0;
    this.acked = false;
  }
}
