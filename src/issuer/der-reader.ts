/**
 * The bounds-checked half of `der.ts`: reads DER elements from untrusted bytes (CSRs arrive from
 * any workload). Every read checks lengths against the input before touching it, lengths must be
 * definite, minimal and at most 4 octets, and each step consumes at least two octets, so no input
 * can make it read out of bounds or loop. Failures throw
 * `AgentError('INVALID_REQUEST', 'malformed der: <reason>')`.
 */
import { AgentError } from '../errors.js';

/** One element read from DER input. `content` and `raw` are views into the input, not copies. */
export interface DerElement {
  /** The identifier octet, e.g. `0x30` for SEQUENCE, `0xa0` for `[0]` constructed. */
  readonly tag: number;
  readonly tagClass: 'universal' | 'application' | 'context' | 'private';
  readonly constructed: boolean;
  /** The tag number, 0-30. */
  readonly tagNumber: number;
  /** The content octets. */
  readonly content: Buffer;
  /** The whole encoding (identifier, length, content), e.g. to hash or to copy into a signature. */
  readonly raw: Buffer;
}

const CLASSES = ['universal', 'application', 'context', 'private'] as const;

/** Throws the reader's error. Exported so that structure checks built on the reader say the same. */
export function malformed(reason: string): never {
  throw new AgentError('INVALID_REQUEST', `malformed der: ${reason}`);
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * An element as read: its tag and where it lies in the input. The views `content` and `raw` are
 * made when first read, since most elements are only looked at for their tag or walked into
 * ({@link childrenOf} reads children straight from the input): a CSR reads as ~25 elements, and
 * two views each were the largest allocation on the Certify path (docs/performance.md).
 */
class Element implements DerElement {
  readonly tag: number;
  /** The input, the element's first octet, its content's first octet and the octet after it. */
  readonly #input: Buffer;
  readonly #offset: number;
  readonly #start: number;
  readonly #end: number;
  #content: Buffer | undefined;
  #raw: Buffer | undefined;

  constructor(tag: number, input: Buffer, offset: number, start: number, end: number) {
    this.tag = tag;
    this.#input = input;
    this.#offset = offset;
    this.#start = start;
    this.#end = end;
  }

  /** Where the element ends in its input: the offset of the octet after it. */
  static endOf(el: Element): number {
    return el.#end;
  }

  /** The children of `el`, read from the input itself: no view of `el`'s content is made. */
  static childrenOf(el: Element): Element[] {
    return readAll(el.#input, el.#start, el.#end);
  }

  get tagClass(): DerElement['tagClass'] {
    return CLASSES[this.tag >> 6] as DerElement['tagClass'];
  }

  get constructed(): boolean {
    return (this.tag & 0x20) !== 0;
  }

  get tagNumber(): number {
    return this.tag & 0x1f;
  }

  get content(): Buffer {
    this.#content ??= this.#input.subarray(this.#start, this.#end);
    return this.#content;
  }

  get raw(): Buffer {
    this.#raw ??= this.#input.subarray(this.#offset, this.#end);
    return this.#raw;
  }
}

/**
 * Reads the element at `offset` of `buf`, which must end by `limit`; error messages give offsets
 * from `base` (where the enclosing content starts), as if that content were the whole input.
 */
function readAt(buf: Buffer, offset: number, base: number, limit: number): Element {
  const at = offset - base;
  if (limit - offset < 2) malformed(`truncated element at offset ${at}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) malformed(`multi-octet tag at offset ${at}`);
  const first = buf[offset + 1] as number;
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0) malformed(`indefinite length at offset ${at}`);
    if (count > 4) malformed(`length of more than 4 octets at offset ${at}`);
    if (limit - offset - 2 < count) malformed(`truncated length at offset ${at}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] as number);
    // DER: the long form only for lengths >= 128, with no leading zero octet (X.690 §10.1).
    if (length < 0x80 || buf[offset + 2] === 0) malformed(`non-minimal length at offset ${at}`);
    headerLength += count;
  }
  const start = offset + headerLength;
  if (length > limit - start) malformed(`length runs past the end of the input at offset ${at}`);
  return new Element(tag, buf, offset, start, start + length);
}

/** Reads the element that starts at `offset`; `raw.length` says where the next one starts. */
export function readElement(input: Uint8Array, offset = 0): DerElement {
  const buf = asBuffer(input);
  if (!Number.isInteger(offset) || offset < 0 || offset >= buf.length) malformed(`no element at offset ${offset}`);
  return readAt(buf, offset, 0, buf.length);
}

/** Reads exactly one element; trailing bytes are an error. */
export function decode(input: Uint8Array): DerElement {
  const buf = asBuffer(input);
  if (buf.length === 0) malformed('no element at offset 0');
  const el = readAt(buf, 0, 0, buf.length);
  if (Element.endOf(el) !== buf.length) malformed('trailing data after the element');
  return el;
}

/** The children of a constructed element, which must fill its content exactly. */
export function childrenOf(el: DerElement): DerElement[] {
  if (!el.constructed) malformed(`element with tag 0x${el.tag.toString(16)} is not constructed`);
  return el instanceof Element ? Element.childrenOf(el) : readAll(el.content, 0, el.content.length);
}

/** The elements from `start` to `end` of `buf`, which they must fill exactly. */
function readAll(buf: Buffer, start: number, end: number): Element[] {
  const out: Element[] = [];
  for (let at = start; at < end; ) {
    const child = readAt(buf, at, start, end);
    out.push(child);
    at = Element.endOf(child);
  }
  return out;
}

/** Checks the identifier octet; `what` names the expected field in the error. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (el === undefined) malformed(`${what} is missing`);
  if (el.tag !== tag) malformed(`${what} has tag 0x${el.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return el;
}

/** The children of a SEQUENCE named `what`. */
export function sequenceOf(el: DerElement | undefined, what: string): DerElement[] {
  return childrenOf(expectTag(el, 0x30, what));
}

/** The content of a minimal INTEGER (two's complement, big-endian). */
export function readInteger(el: DerElement | undefined, what = 'integer'): Buffer {
  const c = expectTag(el, 0x02, what).content;
  if (c.length === 0) malformed(`${what} is empty`);
  if (c.length > 1 && ((c[0] === 0 && !((c[1] as number) & 0x80)) || (c[0] === 0xff && (c[1] as number) & 0x80))) {
    malformed(`${what} is not minimally encoded`);
  }
  return c;
}

/** A non-negative INTEGER that fits in a safe integer (versions, path lengths). */
export function readSmallInteger(el: DerElement | undefined, what = 'integer'): number {
  const c = readInteger(el, what);
  if ((c[0] as number) & 0x80) malformed(`${what} is negative`);
  if (c.length > 6) malformed(`${what} is too large`);
  return c.readUIntBE(0, c.length);
}

/**
 * Longest OBJECT IDENTIFIER content read, in octets. Every identifier a certificate or CSR needs
 * is far shorter (the longest we know, a 2.25 UUID arc, takes 20); an unbounded one let a 200 KB
 * OID hold the event loop for seconds (issue 15).
 */
export const MAX_OID_OCTETS = 64;

/** Longest single arc, in octets: 19 base-128 digits hold the 128-bit UUID arcs of 2.25 (X.667). */
export const MAX_OID_ARC_OCTETS = 19;

/**
 * An OBJECT IDENTIFIER in dotted form. The content is bounded by {@link MAX_OID_OCTETS} and each
 * arc by {@link MAX_OID_ARC_OCTETS}, checked before any arc is computed, so a read costs at most
 * a few microseconds whatever the input.
 */
export function readOid(el: DerElement | undefined, what = 'object identifier'): string {
  const c = expectTag(el, 0x06, what).content;
  if (c.length > MAX_OID_OCTETS) malformed(`${what} is longer than ${MAX_OID_OCTETS} octets`);
  if (c.length === 0 || (c[c.length - 1] as number) & 0x80) malformed(`${what} is truncated`);
  // Arcs of up to 7 octets (49 bits) are computed as numbers, exactly; only a longer one (a
  // 2.25 UUID arc) takes a bigint.
  const arcs: Array<number | bigint> = [];
  let value = 0;
  let big: bigint | undefined;
  let octets = 0;
  for (let i = 0; i < c.length; i++) {
    const byte = c[i] as number;
    if (octets === 0 && byte === 0x80) malformed(`${what} is not minimally encoded`);
    if (++octets > MAX_OID_ARC_OCTETS) malformed(`${what} has an arc longer than ${MAX_OID_ARC_OCTETS} octets`);
    if (big === undefined && octets <= 7) value = value * 128 + (byte & 0x7f);
    else big = ((big ?? BigInt(value)) << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(big ?? value);
      value = 0;
      big = undefined;
      octets = 0;
    }
  }
  const head = arcs[0] as number | bigint;
  // X.690 §8.19.4: the first subidentifier holds the first two arcs as 40 × first + second.
  if (typeof head === 'number') {
    const first = head < 40 ? 0 : head < 80 ? 1 : 2;
    arcs[0] = head - first * 40;
    return `${first}.${arcs.join('.')}`;
  }
  arcs[0] = head - 80n;
  return `2.${arcs.join('.')}`;
}

/** A BIT STRING: its padding count and its octets (a view). Padding bits must be zero (DER). */
export function readBitString(el: DerElement | undefined, what = 'bit string'): { unusedBits: number; bytes: Buffer } {
  const c = expectTag(el, 0x03, what).content;
  const unusedBits = c[0];
  if (unusedBits === undefined || unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) malformed(`${what} is invalid`);
  const bytes = c.subarray(1);
  if (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & ((1 << unusedBits) - 1)) !== 0) {
    malformed(`${what} has non-zero padding bits`);
  }
  return { unusedBits, bytes };
}

/** The octets of an OCTET STRING (a view). */
export function readOctetString(el: DerElement | undefined, what = 'octet string'): Buffer {
  return expectTag(el, 0x04, what).content;
}

/** A BOOLEAN; DER allows only 0x00 and 0xff. */
export function readBoolean(el: DerElement | undefined, what = 'boolean'): boolean {
  const c = expectTag(el, 0x01, what).content;
  if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) malformed(`${what} is not a der boolean`);
  return c[0] === 0xff;
}

/**
 * An Extension's `critical BOOLEAN DEFAULT FALSE` when it is present: it must be TRUE, since DER
 * never encodes a default value (X.690 §11.5), so an explicit FALSE is malformed.
 */
export function readCriticalFlag(el: DerElement | undefined, what = 'extension critical flag'): true {
  if (!readBoolean(el, what)) malformed(`${what} is an explicit false, which der leaves out`);
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a directory or IA5 string: UTF8String, PrintableString, IA5String, VisibleString,
 * NumericString, TeletexString (read as Latin-1, as most decoders do), BMPString, UniversalString.
 */
export function readString(el: DerElement | undefined, what = 'string'): string {
  if (el === undefined) malformed(`${what} is missing`);
  const c = el.content;
  switch (el.tag) {
    case 0x0c:
      try {
        return utf8.decode(c);
      } catch {
        return malformed(`${what} is not valid utf-8`);
      }
    case 0x12:
    case 0x13:
    case 0x16:
    case 0x1a:
      if (c.some((b) => b > 0x7f)) malformed(`${what} has non-ascii characters`);
      return c.toString('latin1');
    case 0x14:
      return c.toString('latin1');
    case 0x1e:
      if (c.length % 2 !== 0) malformed(`${what} has an odd length`);
      // BMPString is UCS-2 big-endian; swap into a copy to decode it as UTF-16LE.
      return Buffer.from(c).swap16().toString('utf16le');
    case 0x1c:
      if (c.length % 4 !== 0) malformed(`${what} has a length that is not a multiple of 4`);
      return universalString(c, what);
    default:
      return malformed(`${what} has tag 0x${el.tag.toString(16)}, which is not a string type`);
  }
}

function universalString(c: Buffer, what: string): string {
  let out = '';
  for (let i = 0; i < c.length; i += 4) {
    const cp = c.readUInt32BE(i);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) malformed(`${what} has an invalid code point`);
    out += String.fromCodePoint(cp);
  }
  return out;
}

/** An X.509 Time (UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`) in ms. */
export function readTime(el: DerElement | undefined, what = 'time'): number {
  if (el === undefined) malformed(`${what} is missing`);
  const s = el.content.toString('latin1');
  let digits: string;
  if (el.tag === 0x17 && /^\d{12}Z$/.test(s)) {
    // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, otherwise 20YY.
    digits = (Number(s.slice(0, 2)) >= 50 ? '19' : '20') + s.slice(0, 12);
  } else if (el.tag === 0x18 && /^\d{14}Z$/.test(s)) {
    digits = s.slice(0, 14);
  } else {
    return malformed(`${what} is not a utc or generalized time in der form`);
  }
  const [y, mo, d, h, mi, se] = [0, 4, 6, 8, 10, 12].map((i) => Number(digits.slice(i, i === 0 ? 4 : i + 2))) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const check = new Date(Date.UTC(2000, mo - 1, d, h, mi, se));
  // Date.UTC maps years 0-99 to 1900-1999, so the year is set separately.
  check.setUTCFullYear(y, mo - 1, d);
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi ||
    check.getUTCSeconds() !== se
  ) {
    malformed(`${what} is not a valid date`);
  }
  return check.getTime();
}
