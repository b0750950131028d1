/**
 * UTF-8 helpers that work in Node and browsers alike. Service and method names and metadata are short and almost always
 * ASCII, so both directions take a plain loop first and fall back to TextEncoder/TextDecoder for anything else.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else length += 3;
    } else length += 3;
  }
  return length;
}

/** Writes `text` at `offset` (the caller has measured it with utf8Length) and returns the bytes written. */
export function utf8Write(target: Uint8Array, offset: number, text: string, byteLength: number): number {
  if (byteLength === text.length) {
    for (let i = 0; i < byteLength; i++) target[offset + i] = text.charCodeAt(i);
    return byteLength;
  }
  return encoder.encodeInto(text, target.subarray(offset, offset + byteLength)).written;
}

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  // Node's Buffer (what sockets hand us) has a native slice decoder, much faster than any JavaScript loop.
  const native = (bytes as { utf8Slice?: (start: number, end: number) => string }).utf8Slice;
  if (native !== undefined) return native.call(bytes, start, end);
  const length = end - start;
  if (length <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let out = '';
      for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]!);
      return out;
    }
  }
  return decoder.decode(bytes.subarray(start, end));
}

/**
 * Decoded section strings (service and method names, metadata keys and short values) repeat on nearly every frame:
 * a small direct-mapped cache keyed by the bytes returns the string decoded last time, for a hash and a compare of
 * a few bytes instead of a native decode and a new string. Longer strings, and slots that collide, decode normally.
 */
const SECTION_CACHE_MAX = 32;
const SECTION_CACHE_SLOTS = 512;
const sectionBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(SECTION_CACHE_SLOTS).fill(undefined);
const sectionText: string[] = new Array<string>(SECTION_CACHE_SLOTS).fill('');

export function utf8DecodeSection(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return '';
  if (length > SECTION_CACHE_MAX) return utf8Decode(bytes, start, end);
  let hash = length;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  const slot = (hash ^ (hash >>> 15)) & (SECTION_CACHE_SLOTS - 1);
  const cached = sectionBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached[i] === bytes[start + i]) i++;
    if (i === length) return sectionText[slot]!;
  }
  const text = internalized(utf8Decode(bytes, start, end));
  sectionBytes[slot] = new Uint8Array(bytes.subarray(start, end));
  sectionText[slot] = text;
  return text;
}

/**
 * The engine's canonical copy of `text` (a property key comes back from Object.keys canonical): metadata keys made
 * from it then take the fast path of property stores and loads instead of a string-table lookup on every frame.
 */
function internalized(text: string): string {
  for (const key in { [text]: 0 }) return key;
  return text;
}

/** Allocates without zero-filling where the platform allows (Node's Buffer pool), else a plain Uint8Array. */
export const allocBytes: (size: number) => Uint8Array = (() => {
  const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
  return NodeBuffer ? (size: number) => NodeBuffer.allocUnsafe(size) : (size: number) => new Uint8Array(size);
})();

export const EMPTY_BYTES = new Uint8Array(0);

/**
 * UTF-8 bytes of short strings that repeat on every frame (service and method names, metadata keys, timeouts),
 * encoded once. Bounded: past the limit the cache starts over, so one-off values cannot grow it.
 */
const shortStrings = new Map<string, Uint8Array>();
const SHORT_STRING_MAX = 64;
const SHORT_CACHE_LIMIT = 4096;

export function utf8Cached(text: string): Uint8Array | undefined {
  if (text.length > SHORT_STRING_MAX) return undefined;
  let bytes = shortStrings.get(text);
  if (bytes === undefined) {
    if (shortStrings.size >= SHORT_CACHE_LIMIT) shortStrings.clear();
    bytes = utf8Encode(text);
    shortStrings.set(text, bytes);
  }
  return bytes;
}
