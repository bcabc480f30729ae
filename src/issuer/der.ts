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

import { DerWriter, headerLength, tlvLength, unsignedIntegerLength, writeHeader } from './der-writer.js';

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
  const out = new DerWriter(tlvLength(length)).header(tag, length);
  for (const p of parts) out.bytes(p);
  return out.finish();
}

/**
 * The identifier and length octets of an element of `length` content octets, for encoders that
 * write the content themselves (one copy instead of one per nesting level).
 */
export function header(tag: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(headerLength(length));
  writeHeader(out, 0, tag, length);
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
  return new DerWriter(tlvLength(unsignedIntegerLength(magnitude))).unsignedInteger(magnitude).finish();
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
  const date = checkedDate(ms);
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? timeElement(TAG.UTC_TIME, date, 2) : timeElement(TAG.GENERALIZED_TIME, date, 4);
}

/** UTCTime `YYMMDDHHMMSSZ` (years 1950-2049 only). */
export function utcTime(ms: number): Buffer {
  const date = checkedDate(ms);
  const year = date.getUTCFullYear();
  if (year < 1950 || year >= 2050) throw new TypeError('utc time only holds years 1950-2049');
  return timeElement(TAG.UTC_TIME, date, 2);
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ`, without fractional seconds (RFC 5280 §4.1.2.5.2). */
export function generalizedTime(ms: number): Buffer {
  return timeElement(TAG.GENERALIZED_TIME, checkedDate(ms), 4);
}

function checkedDate(ms: number): Date {
  const date = new Date(Number.isFinite(ms) ? Math.floor(ms / 1000) * 1000 : Number.NaN);
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) throw new TypeError('der time must be a finite date in years 0-9999');
  return date;
}

/**
 * The element `tag` holding `[YY]YYMMDDHHMMSSZ` (UTC) of `date`, with `yearDigits` (2 or 4)
 * digits of the year. On the issuance path, so the digits are written without building strings.
 */
function timeElement(tag: number, date: Date, yearDigits: 2 | 4): Buffer {
  const out = Buffer.allocUnsafe(2 + yearDigits + 11);
  out[0] = tag;
  out[1] = yearDigits + 11;
  let at = writeDigits(out, 2, date.getUTCFullYear(), yearDigits);
  at = writeDigits(out, at, date.getUTCMonth() + 1, 2);
  at = writeDigits(out, at, date.getUTCDate(), 2);
  at = writeDigits(out, at, date.getUTCHours(), 2);
  at = writeDigits(out, at, date.getUTCMinutes(), 2);
  at = writeDigits(out, at, date.getUTCSeconds(), 2);
  out[at] = 0x5a; // 'Z'
  return out;
}

/** Writes the last `count` decimal digits of `value` (a non-negative integer) as ASCII. */
function writeDigits(out: Buffer, at: number, value: number, count: number): number {
  for (let i = count - 1, v = value; i >= 0; i--, v = Math.floor(v / 10)) out[at + i] = 0x30 + (v % 10);
  return at + count;
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
export { DerWriter, headerLength, tlvLength, unsignedIntegerLength, writeHeader } from './der-writer.js';
