/**
 * kcp-go's packet crypt layer. With a block crypt configured, every datagram starts with a crypt header:
 *
 *     nonce[16] | crc32[4] (IEEE, little-endian, over everything after it) | FEC header / KCP segments ...
 *
 * and the whole datagram, nonce included, is then encrypted. kcp-go's AES "block crypt" is plain CFB-128 with a fixed
 * IV (its `initialVector`) over the whole datagram, the trailing partial block XORed with the last keystream block; the
 * random nonce in the first block is what makes each ciphertext unique. The "none" block crypt keeps the header (nonce
 * and checksum) but leaves the bytes in clear. Without any block crypt (kcp-go's nil BlockCrypt) there is no header.
 *
 * rpcx's examples derive the AES key with pbkdf2-sha1(password, "rpcx-salt", 4096 rounds, 32 bytes): `deriveKcpKey`.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { ConfigError } from '../../errors.js';
import { writeU32, readU32 } from './segment.js';

export const NONCE_SIZE = 16;
export const CRC_SIZE = 4;
export const CRYPT_HEADER_SIZE = NONCE_SIZE + CRC_SIZE;

/** kcp-go's fixed CFB initial vector. */
const INITIAL_VECTOR = Buffer.from([167, 115, 79, 156, 18, 172, 27, 1, 164, 21, 242, 193, 252, 120, 230, 107]);

export const DEFAULT_KCP_SALT = 'rpcx-salt';

/** The AES key rpcx's examples use: pbkdf2-sha1(password, salt, 4096 rounds, 32 bytes). */
export function deriveKcpKey(password: string | Uint8Array, salt: string | Uint8Array = DEFAULT_KCP_SALT, iterations = 4096, keyLength = 32): Buffer {
  return crypto.pbkdf2Sync(password, salt, iterations, keyLength, 'sha1');
}

/**
 * A whole-datagram cipher, as kcp-go's `BlockCrypt`. `encrypt` returns a new buffer (never a view of `src`); `decrypt` may
 * return a view.
 */
export interface BlockCrypt {
  readonly name: string;
  encrypt(src: Uint8Array): Buffer;
  decrypt(src: Uint8Array): Buffer;
  /**
   * Encrypts a datagram whose first NONCE_SIZE bytes are fresh random bytes (the crypt header's nonce), possibly faster
   * than `encrypt`: its output may differ from `encrypt`'s in the first block, and `decrypt` then yields other (equally
   * random) nonce bytes, but everything after the nonce decrypts to `src`'s bytes. Returns a new buffer (or a view of
   * one), never a view of `src`.
   *
   * `src` may also be a run of several such datagrams, each starting at a multiple of 16 bytes and padded to one (the
   * padding's output is not sent): the result then holds each datagram's ciphertext at its offset, as if each had been
   * passed alone, in order. One call per run saves a cipher call and an output buffer per datagram.
   */
  encryptNonced(src: Uint8Array): Uint8Array;
}

/** target[0, length) ^= source[0, length), four bytes at a time when both are 4-byte aligned. */
function xorInto(target: Uint8Array, source: Uint8Array, length: number): void {
  let i = 0;
  if ((target.byteOffset & 3) === 0 && (source.byteOffset & 3) === 0) {
    const words = length >>> 2;
    const t = new Int32Array(target.buffer, target.byteOffset, words);
    const s = new Int32Array(source.buffer, source.byteOffset, words);
    for (let w = 0; w < words; w++) t[w] = t[w]! ^ s[w]!;
    i = words << 2;
  }
  for (; i < length; i++) target[i] = target[i]! ^ source[i]!;
}

/**
 * kcp-go's `NewAESBlockCrypt`: AES-128/192/256 by key length, CFB mode, fixed IV.
 *
 * `encrypt` is kcp-go's function exactly: a fresh CFB cipher from the fixed IV per datagram. Setting up a cipher costs
 * as much as encrypting a whole datagram, so datagrams are sealed with `encryptNonced` instead, which keeps one CFB
 * cipher running across datagrams. That is sound because of how CFB decrypts: ciphertext block i (i >= 1) decrypts
 * with the previous ciphertext block only, so a receiver decrypting from the fixed IV recovers every block after the
 * first whatever register the sender's cipher started the first block with; only the first block (the random nonce,
 * which kcp-go never reads) comes out as different random bytes. On the wire nothing changes: in both cases the first
 * ciphertext block is a uniformly random value (AES(IV) or AES(previous register), XORed with fresh random bytes) and
 * the rest is the CFB chain from it. Each datagram is padded to whole blocks for the running cipher (the padding's
 * ciphertext is not sent), so the next datagram starts on a block boundary as the receiver expects.
 *
 * Decryption is not sequential: plaintext block i is ciphertext block i XOR AES(ciphertext block i-1), so one call of a
 * long-lived ECB cipher over [IV, C0, C1, ...] yields the whole keystream.
 */
export class AesBlockCrypt implements BlockCrypt {
  readonly name = 'aes';
  readonly #algorithm: string;
  readonly #key: crypto.KeyObject;
  readonly #ecb: crypto.Cipheriv;
  readonly #cfb: crypto.Cipheriv;
  /** [IV, datagram] for decryption, its 32-bit words, and the last ECB input view of it. */
  #scratch!: Buffer;
  #scratchWords!: Int32Array;
  #input!: Buffer;
  #padded = Buffer.alloc(2048);

  constructor(key: Uint8Array) {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
      throw new ConfigError(`rpcx: kcp AES key must be 16, 24 or 32 bytes, got ${key.length}`);
    }
    this.#algorithm = `aes-${key.length * 8}-cfb`;
    // A KeyObject makes the per-datagram cipher set-up several times cheaper than a raw key.
    this.#key = crypto.createSecretKey(key);
    this.#ecb = crypto.createCipheriv(`aes-${key.length * 8}-ecb`, this.#key, null);
    this.#ecb.setAutoPadding(false);
    this.#cfb = crypto.createCipheriv(this.#algorithm, this.#key, INITIAL_VECTOR);
    this.#growScratch(4096);
  }

  encrypt(src: Uint8Array): Buffer {
    return crypto.createCipheriv(this.#algorithm, this.#key, INITIAL_VECTOR).update(src);
  }

  encryptNonced(src: Uint8Array): Uint8Array {
    const length = src.length;
    const rest = length & 15;
    if (rest === 0) return this.#cfb.update(src);
    const paddedLength = length + 16 - rest;
    if (this.#padded.length < paddedLength) this.#padded = Buffer.alloc(paddedLength * 2);
    const padded = this.#padded;
    padded.set(src, 0);
    return this.#cfb.update(padded.subarray(0, paddedLength)).subarray(0, length);
  }

  decrypt(src: Uint8Array): Buffer {
    const length = src.length;
    if (length === 0) return Buffer.alloc(0);
    const inputLength = (length + 15) & -16;
    if (this.#scratch.length < inputLength + 16) this.#growScratch(inputLength * 2);
    // The scratch holds [IV, src]: the IV stays at its start, the datagram goes after it. Whole datagrams are copied
    // (no view of `src` per datagram); the ECB input is a view kept while datagrams keep the same padded length.
    const input = this.#scratch;
    input.set(src, 16);
    let view = this.#input;
    if (view.length !== inputLength) view = this.#input = input.subarray(0, inputLength);
    const keystream = this.#ecb.update(view);
    // plaintext = ciphertext ^ keystream; the ciphertext is the scratch's copy at 16, word-aligned like the keystream.
    if ((keystream.byteOffset & 3) === 0) {
      const words = length >>> 2;
      const k = new Int32Array(keystream.buffer, keystream.byteOffset, words);
      const c = this.#scratchWords;
      for (let w = 0; w < words; w++) k[w] = k[w]! ^ c[w + 4]!;
      for (let i = words << 2; i < length; i++) keystream[i] = keystream[i]! ^ input[i + 16]!;
    } else {
      xorInto(keystream, src, length);
    }
    return keystream.length === length ? keystream : keystream.subarray(0, length);
  }

  #growScratch(size: number): void {
    this.#scratch = Buffer.alloc(size);
    INITIAL_VECTOR.copy(this.#scratch, 0);
    this.#scratchWords = new Int32Array(this.#scratch.buffer, this.#scratch.byteOffset, size >>> 2);
    this.#input = this.#scratch.subarray(0, 0);
  }
}

/** kcp-go's `NewNoneBlockCrypt`: the header is kept, the bytes are not transformed. */
export class NoneBlockCrypt implements BlockCrypt {
  readonly name = 'none';
  encrypt(src: Uint8Array): Buffer {
    return Buffer.from(src); // a copy: the caller reuses its buffer
  }
  decrypt(src: Uint8Array): Buffer {
    return Buffer.from(src.buffer, src.byteOffset, src.length);
  }
  encryptNonced(src: Uint8Array): Uint8Array {
    return this.encrypt(src);
  }
}

/** Cheap unique nonces: slices of a random pool, refilled when used up. */
class NonceSource {
  readonly #pool = Buffer.allocUnsafe(NONCE_SIZE * 1024);
  #pos = this.#pool.length;

  fill(target: Uint8Array, offset: number): void {
    if (this.#pos >= this.#pool.length) {
      crypto.randomFillSync(this.#pool);
      this.#pos = 0;
    }
    target.set(this.#pool.subarray(this.#pos, this.#pos + NONCE_SIZE), offset);
    this.#pos += NONCE_SIZE;
  }
}

/** Adds and checks the crypt header around a datagram. */
export class PacketCrypt {
  readonly block: BlockCrypt;
  readonly #nonce = new NonceSource();

  constructor(block: BlockCrypt) {
    this.block = block;
  }

  /**
   * Fills the nonce and checksum of a datagram whose first CRYPT_HEADER_SIZE bytes are reserved, then encrypts it.
   * `packet` is modified (header); the result is a new buffer ready for the socket (never a view of `packet`).
   */
  seal(packet: Uint8Array): Uint8Array {
    this.stamp(packet, 0, packet.length);
    return this.block.encryptNonced(packet);
  }

  /**
   * Fills the nonce and checksum of the datagram at `buffer[offset, offset + length)` without encrypting it: a run of
   * stamped datagrams is then encrypted with one `block.encryptNonced` call (see there).
   */
  stamp(buffer: Uint8Array, offset: number, length: number): void {
    this.#nonce.fill(buffer, offset);
    writeU32(buffer, offset + NONCE_SIZE, zlib.crc32(buffer.subarray(offset + CRYPT_HEADER_SIZE, offset + length)));
  }

  /** Decrypts a datagram and checks its checksum; returns what follows the header, or undefined if it fails. */
  open(datagram: Uint8Array): Buffer | undefined {
    if (datagram.length < CRYPT_HEADER_SIZE) return undefined;
    const plain = this.block.decrypt(datagram);
    const body = plain.subarray(CRYPT_HEADER_SIZE);
    if (zlib.crc32(body) !== readU32(plain, NONCE_SIZE)) return undefined;
    return body;
  }
}

export type KcpCryptName = 'aes' | 'none';

/** The block crypt for the transport settings: AES with a key, kcp-go's "none", or undefined (no crypt layer at all). */
export function makeBlockCrypt(crypt: KcpCryptName | undefined, key: Uint8Array | undefined): BlockCrypt | undefined {
  if (crypt === 'none') return new NoneBlockCrypt();
  if (crypt === 'aes' || key !== undefined) {
    if (key === undefined) throw new ConfigError('rpcx: kcp AES crypt needs a key');
    return new AesBlockCrypt(key);
  }
  return undefined;
}
