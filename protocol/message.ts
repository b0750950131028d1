/**
 * `Message` owns the rpcx wire format: one frame in, one frame out. Nothing else in the code base reads or writes
 * frame bytes. Layout (big-endian): magic, version, flags, serialize type << 4, seq u64, total length u32, then
 * four length-prefixed sections: service path, service method, metadata (repeated key/value pairs), payload.
 */
import { ProtocolError } from '../errors.js';
import { Flag, HEADER_LENGTH, MAGIC, MessageType, StatusType, VERSION } from './constants.js';
import { allocBytes, EMPTY_BYTES, utf8Cached, utf8DecodeSection, utf8Length, utf8Write } from './utf8.js';

export type Metadata = Record<string, string>;

const EMPTY_METADATA: Metadata = Object.freeze({}) as Metadata;
const TWO_32 = 0x1_0000_0000;
/** Defaults for `new Message()` without a fresh `{}` per message. */
const NO_INIT: MessageInit = Object.freeze({});

export interface MessageInit {
  type?: MessageType;
  heartbeat?: boolean;
  oneway?: boolean;
  compressType?: number;
  status?: StatusType;
  serializeType?: number;
  seq?: number;
  servicePath?: string;
  serviceMethod?: string;
  metadata?: Metadata;
  payload?: Uint8Array;
}

export class Message {
  type: MessageType;
  heartbeat: boolean;
  oneway: boolean;
  compressType: number;
  status: StatusType;
  serializeType: number;
  /** uint64 on the wire; exact up to 2^53. */
  seq: number;
  servicePath: string;
  serviceMethod: string;
  metadata: Metadata;
  /** The payload as it is on the wire (still compressed when compressType says so). */
  payload: Uint8Array;

  constructor(init: MessageInit = NO_INIT) {
    this.type = init.type ?? MessageType.Request;
    this.heartbeat = init.heartbeat ?? false;
    this.oneway = init.oneway ?? false;
    this.compressType = init.compressType ?? 0;
    this.status = init.status ?? StatusType.Normal;
    this.serializeType = init.serializeType ?? 0;
    this.seq = init.seq ?? 0;
    this.servicePath = init.servicePath ?? '';
    this.serviceMethod = init.serviceMethod ?? '';
    this.metadata = init.metadata ?? EMPTY_METADATA;
    this.payload = init.payload ?? EMPTY_BYTES;
  }

  get isResponse(): boolean {
    return this.type === MessageType.Response;
  }

  get isError(): boolean {
    return this.status === StatusType.Error;
  }

  /** A response skeleton for this request: same seq, path, method, serialize type and heartbeat flag. */
  reply(): Message {
    return new Message({
      type: MessageType.Response,
      heartbeat: this.heartbeat,
      serializeType: this.serializeType,
      seq: this.seq,
      servicePath: this.servicePath,
      serviceMethod: this.serviceMethod,
    });
  }

  // ---- encoding ----

  #pathLength = -1;
  #methodLength = -1;
  #metadataLength = -1;
  /** The encoded metadata pairs when the metadata object is frozen (see frozenMetadataSection). */
  #metadataSection: Uint8Array | undefined;

  /** Bytes this message takes on the wire. Caches string lengths for the following encodeInto. */
  encodedLength(): number {
    this.#pathLength = stringLength(this.servicePath);
    this.#methodLength = stringLength(this.serviceMethod);
    const metadata = this.metadata;
    let meta = 0;
    this.#metadataSection = metadata === EMPTY_METADATA ? undefined : frozenMetadataSection(metadata);
    if (this.#metadataSection !== undefined) meta = this.#metadataSection.length;
    else {
      for (const key in metadata) {
        meta += 8 + stringLength(key) + stringLength(metadata[key]!);
      }
    }
    this.#metadataLength = meta;
    return HEADER_LENGTH + 16 + this.#pathLength + this.#methodLength + meta + this.payload.length;
  }

  /** Encodes into `target` at `offset`; call encodedLength() first. Returns the offset after the frame. */
  encodeInto(target: Uint8Array, offset: number): number {
    if (this.#pathLength < 0) this.encodedLength();
    const bodyLength = 16 + this.#pathLength + this.#methodLength + this.#metadataLength + this.payload.length;
    target[offset] = MAGIC;
    target[offset + 1] = VERSION;
    target[offset + 2] = this.flags();
    target[offset + 3] = (this.serializeType & 0x0f) << 4;
    writeU32(target, offset + 4, Math.floor(this.seq / TWO_32));
    writeU32(target, offset + 8, this.seq >>> 0);
    writeU32(target, offset + 12, bodyLength);
    let at = writeString(target, offset + HEADER_LENGTH, this.servicePath, this.#pathLength);
    at = writeString(target, at, this.serviceMethod, this.#methodLength);
    writeU32(target, at, this.#metadataLength);
    at += 4;
    const section = this.#metadataSection;
    if (section !== undefined) {
      target.set(section, at);
      at += section.length;
    } else {
      for (const key in this.metadata) {
        at = writeString(target, at, key, -1);
        at = writeString(target, at, this.metadata[key]!, -1);
      }
    }
    writeU32(target, at, this.payload.length);
    at += 4;
    target.set(this.payload, at);
    at += this.payload.length;
    this.#pathLength = -1;
    return at;
  }

  encode(): Uint8Array {
    const out = allocBytes(this.encodedLength());
    this.encodeInto(out, 0);
    return out;
  }

  flags(): number {
    return (
      (this.type === MessageType.Response ? Flag.Response : 0) |
      (this.heartbeat ? Flag.Heartbeat : 0) |
      (this.oneway ? Flag.Oneway : 0) |
      ((this.compressType << Flag.CompressShift) & Flag.CompressMask) |
      (this.status & Flag.StatusMask)
    );
  }

  // ---- decoding ----

  /**
   * Decodes one whole frame (header included). The payload is a view into `frame`, not a copy.
   * Throws ProtocolError when a length field points outside the frame.
   */
  static decode(frame: Uint8Array): Message {
    return Message.decodeRange(frame, 0, frame.length);
  }

  /**
   * Decodes the frame at `bytes[start, end)`, as `decode(bytes.subarray(start, end))` would without making that
   * view: a parser that finds several frames in one read decodes them in place (a Buffer view costs as much as
   * decoding a small frame's header).
   */
  static decodeRange(bytes: Uint8Array, start: number, end: number): Message {
    if (end - start < HEADER_LENGTH + 16) throw new ProtocolError(`rpcx: frame of ${end - start} bytes is too short`);
    const flags = bytes[start + 2]!;
    // Fields set one by one and sections read by a plain function: no init object, closure or context per frame.
    const message = new Message();
    if (flags & Flag.Response) message.type = MessageType.Response;
    message.heartbeat = (flags & Flag.Heartbeat) !== 0;
    message.oneway = (flags & Flag.Oneway) !== 0;
    message.compressType = (flags & Flag.CompressMask) >>> Flag.CompressShift;
    if ((flags & Flag.StatusMask) === StatusType.Error) message.status = StatusType.Error;
    message.serializeType = bytes[start + 3]! >>> 4;
    message.seq = readU32(bytes, start + 4) * TWO_32 + readU32(bytes, start + 8);
    if (start + HEADER_LENGTH + readU32(bytes, start + 12) !== end) throw new ProtocolError('rpcx: frame length field does not match the frame');
    let at = start + HEADER_LENGTH;
    let length = sectionLength(bytes, at, end);
    at += 4;
    message.servicePath = utf8DecodeSection(bytes, at, at + length);
    at += length;
    length = sectionLength(bytes, at, end);
    at += 4;
    message.serviceMethod = utf8DecodeSection(bytes, at, at + length);
    at += length;
    length = sectionLength(bytes, at, end);
    at += 4;
    if (length > 0) message.metadata = decodeMetadata(bytes, at, at + length);
    at += length;
    length = sectionLength(bytes, at, end);
    at += 4;
    message.payload = bytes.subarray(at, at + length);
    at += length;
    if (at !== end) throw new ProtocolError('rpcx: malformed frame (trailing bytes)');
    return message;
  }
}

/**
 * The encoded key/value pairs of a frozen metadata object, made once per object. A frozen object cannot change, so
 * senders that share one frozen object across calls (the Client's `__ServerTimeout` per deadline value) skip
 * measuring and encoding its strings on every frame. Unfrozen metadata is encoded afresh each time.
 */
const frozenSections = new WeakMap<Metadata, Uint8Array>();
let lastFrozen: Metadata | undefined;
let lastFrozenSection: Uint8Array = EMPTY_BYTES;

function frozenMetadataSection(metadata: Metadata): Uint8Array | undefined {
  if (metadata === lastFrozen) return lastFrozenSection;
  if (!Object.isFrozen(metadata)) return undefined;
  let section = frozenSections.get(metadata);
  if (section === undefined) {
    let length = 0;
    for (const key in metadata) length += 8 + stringLength(key) + stringLength(metadata[key]!);
    section = allocBytes(length);
    let at = 0;
    for (const key in metadata) {
      at = writeString(section, at, key, -1);
      at = writeString(section, at, metadata[key]!, -1);
    }
    frozenSections.set(metadata, section);
  }
  lastFrozen = metadata;
  lastFrozenSection = section;
  return section;
}

/** The length of the section whose u32 length prefix is at `at`, checked against the frame's end. */
function sectionLength(frame: Uint8Array, at: number, end: number): number {
  if (at + 4 > end) throw new ProtocolError('rpcx: malformed frame (truncated section length)');
  const length = readU32(frame, at);
  if (length > end - at - 4) throw new ProtocolError('rpcx: malformed frame (section runs past the frame)');
  return length;
}

function decodeMetadata(frame: Uint8Array, start: number, end: number): Metadata {
  // A plain object keeps V8's fast properties (a null-prototype object is a slow dictionary); the one key that
  // could reach the prototype is stored as an own property instead.
  const metadata: Metadata = {};
  let at = start;
  while (at < end) {
    if (at + 4 > end) throw new ProtocolError('rpcx: malformed metadata');
    const keyLength = readU32(frame, at);
    at += 4;
    if (keyLength > end - at) throw new ProtocolError('rpcx: malformed metadata');
    const key = utf8DecodeSection(frame, at, at + keyLength);
    at += keyLength;
    if (at + 4 > end) throw new ProtocolError('rpcx: malformed metadata');
    const valueLength = readU32(frame, at);
    at += 4;
    if (valueLength > end - at) throw new ProtocolError('rpcx: malformed metadata');
    const value = utf8DecodeSection(frame, at, at + valueLength);
    if (key === '__proto__') Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
    else metadata[key] = value;
    at += valueLength;
  }
  return metadata;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

/** UTF-8 length of a section string (short ones come from the encoded-string cache). */
function stringLength(text: string): number {
  return utf8Cached(text)?.length ?? utf8Length(text);
}

/** Writes `[u32 length][utf8 bytes]` at `at` and returns the offset after it. `length` < 0: measure here. */
function writeString(target: Uint8Array, at: number, text: string, length: number): number {
  const cached = utf8Cached(text);
  if (cached !== undefined) {
    writeU32(target, at, cached.length);
    target.set(cached, at + 4);
    return at + 4 + cached.length;
  }
  const byteLength = length >= 0 ? length : utf8Length(text);
  writeU32(target, at, byteLength);
  return at + 4 + utf8Write(target, at + 4, text, byteLength);
}
