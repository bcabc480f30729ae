/**
 * A minimal DER encoder and a bounds-checked DER reader: just what the issuer needs to build
 * certificates and CSRs and to read CSRs and certificates, without a general ASN.1 library
 * (@peculiar/x509 spends most of its time in generic BER code; see docs/performance.md).
 *
 * Encoders take already-encoded children and return one encoded element. Misuse of an encoder
 * (an out-of-range value, a string with characters its type cannot hold) throws `TypeError`.
 * The reader throws `AgentError('INVALID_REQUEST', 'malformed der: ...')` for every input it
 * cannot read strictly as DER; it never reads past its input and always makes progress.
 */

/** Identifier octets of the universal types used here. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONTEXT = 0x80;
const CONSTRUCTED = 0x20;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

// === impl encoder ===

/**
 * Encodes one element: identifier octet `tag`, a definite minimal length, then `parts` in order.
 * Only single-octet identifiers (tag numbers 0-30) are supported.
 */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  const head = header(tag, length);
  const out = Buffer.allocUnsafe(head.length + length);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The identifier and length octets of an element of `length` content octets, for encoders that
 * write the content themselves (one copy instead of one per nesting level).
 */
export function header(tag: number, length: number): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new TypeError(`der tag ${tag} is not a single-octet identifier`);
  }
  const lengthOctets = length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
  const out = Buffer.allocUnsafe(1 + lengthOctets);
  out[0] = tag;
  if (lengthOctets === 1) {
    out[1] = length;
  } else {
    out[1] = 0x80 | (lengthOctets - 1);
    for (let i = lengthOctets - 1, v = length; i >= 1; i--, v = Math.floor(v / 256)) out[1 + i] = v & 0xff;
  }
  return out;
}

/** SEQUENCE of already-encoded elements, in the order given. */
export function sequence(...children: readonly Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, ...children);
}

/** SET OF already-encoded elements, sorted as X.690 §11.6 requires for DER. */
export function set(...children: readonly Uint8Array[]): Buffer {
  return tlv(TAG.SET, ...[...children].sort(compareZeroPadded));
}

function compareZeroPadded(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * INTEGER from a non-negative value: a safe integer, a bigint, or the unsigned big-endian
 * magnitude in a buffer. The encoding is minimal, with a 0x00 octet added when the top bit is set
 * so the value stays positive.
 */
export function integer(value: Uint8Array | number | bigint): Buffer {
  let magnitude: Uint8Array;
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new TypeError('der integer must be a safe integer');
    if (value < 0) throw new TypeError('der integer must not be negative');
    const hex = value.toString(16);
    magnitude = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
  } else {
    magnitude = value;
  }
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.length === 0 ? Buffer.alloc(1) : magnitude.subarray(start);
  return (trimmed[0] as number) & 0x80 ? tlv(TAG.INTEGER, Buffer.alloc(1), trimmed) : tlv(TAG.INTEGER, trimmed);
}

/** OBJECT IDENTIFIER from its dotted form, e.g. `2.5.29.17`. */
export function oid(dotted: string): Buffer {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new TypeError(`invalid object identifier ${dotted}`);
  const arcs = dotted.split('.').map((s) => BigInt(s));
  const [first, second] = arcs as [bigint, bigint];
  if (first < 2n && second >= 40n) throw new TypeError(`invalid object identifier ${dotted}`);
  const octets: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    const base128: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) base128.unshift(Number(v & 0x7fn) | 0x80);
    octets.push(...base128);
  }
  return tlv(TAG.OID, Uint8Array.from(octets));
}

/** OCTET STRING holding `bytes`. */
export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** BIT STRING holding `bytes`, the last `unusedBits` (0-7) of which are padding. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new TypeError('der bit string unused bits must be 0-7, and 0 when empty');
  }
  return tlv(TAG.BIT_STRING, Uint8Array.of(unusedBits), bytes);
}

/**
 * BIT STRING for an X.509 named bit list (e.g. keyUsage), where bit 0 is the most significant
 * bit of the first octet. DER drops trailing zero bits (X.690 §11.2.2).
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  return bitString(bytes, 7 - (highest & 7));
}

/** BOOLEAN; DER encodes true as 0xff. */
export function boolean(value: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

/** NULL. */
export function nullValue(): Buffer {
  return tlv(TAG.NULL);
}

/** UTF8String. */
export function utf8String(value: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
}

/** PrintableString; throws `TypeError` for characters outside its set (X.680 §41.4). */
export function printableString(value: string): Buffer {
  if (!PRINTABLE.test(value)) throw new TypeError('value has characters a printable string cannot hold');
  return tlv(TAG.PRINTABLE_STRING, Buffer.from(value, 'latin1'));
}

/** IA5String (ASCII); throws `TypeError` for non-ASCII characters. */
export function ia5String(value: string): Buffer {
  return tlv(TAG.IA5_STRING, ascii(value));
}

/** The ASCII bytes of `value`; throws `TypeError` for non-ASCII characters. */
export function ascii(value: string): Buffer {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) throw new TypeError('value has non-ascii characters');
  }
  return Buffer.from(value, 'latin1');
}

/**
 * An X.509 Time (RFC 5280 §4.1.2.5): UTCTime for years 1950-2049, GeneralizedTime otherwise.
 * `ms` is milliseconds since the epoch; sub-second precision is dropped (rounded down).
 */
export function time(ms: number): Buffer {
  const year = new Date(checkTime(ms)).getUTCFullYear();
  return year >= 1950 && year < 2050 ? utcTime(ms) : generalizedTime(ms);
}

/** UTCTime `YYMMDDHHMMSSZ` (years 1950-2049 only). */
export function utcTime(ms: number): Buffer {
  const s = timeDigits(ms);
  const year = Number(s.slice(0, 4));
  if (year < 1950 || year >= 2050) throw new TypeError('utc time only holds years 1950-2049');
  return tlv(TAG.UTC_TIME, Buffer.from(`${s.slice(2)}Z`, 'latin1'));
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ`, without fractional seconds (RFC 5280 §4.1.2.5.2). */
export function generalizedTime(ms: number): Buffer {
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${timeDigits(ms)}Z`, 'latin1'));
}

function checkTime(ms: number): number {
  const year = Number.isFinite(ms) ? new Date(ms).getUTCFullYear() : Number.NaN;
  if (!(year >= 0 && year <= 9999)) throw new TypeError('der time must be a finite date in years 0-9999');
  return Math.floor(ms / 1000) * 1000;
}

/** `YYYYMMDDHHMMSS` (UTC) of `ms`; on the issuance path, so built without a regular expression. */
function timeDigits(ms: number): string {
  const d = new Date(checkTime(ms));
  const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  const year = d.getUTCFullYear();
  const yyyy = year < 1000 ? `${year}`.padStart(4, '0') : `${year}`;
  return `${yyyy}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

/** `[n]` EXPLICIT: a constructed context-specific element wrapping one encoded element. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  return tlv(CONTEXT | CONSTRUCTED | checkTagNumber(tagNumber), inner);
}

/**
 * `[n]` IMPLICIT: a context-specific element with the given content octets (those of the
 * underlying type). Set `constructed` when the underlying type is (SEQUENCE, SET).
 */
export function implicit(tagNumber: number, content: Uint8Array, options: { constructed?: boolean } = {}): Buffer {
  return tlv(CONTEXT | (options.constructed ? CONSTRUCTED : 0) | checkTagNumber(tagNumber), content);
}

function checkTagNumber(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new TypeError(`der context tag number ${n} is not 0-30`);
  return n;
}

export * from './der-reader.js';
