/**
 * The writing half of `der.ts`: DER written into one buffer allocated up front. The caller works
 * out every element's length first ({@link tlvLength}), so each byte is written once, instead of
 * one small buffer per element and a copy per nesting level. The leaf signer builds every
 * TBSCertificate this way (docs/performance.md, "Issuance").
 */

/** Octets of the identifier and length of an element with `length` content octets. */
export function headerLength(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : length < 0x1000000 ? 5 : 6;
}

/** Octets of a whole element (identifier, length, content) with `length` content octets. */
export function tlvLength(length: number): number {
  return headerLength(length) + length;
}

/**
 * Writes the identifier octet `tag` and the minimal definite length octets of `length` into
 * `out` at `at`; returns the offset after them.
 * @throws TypeError when `tag` is not a single-octet identifier (tag numbers 0-30)
 */
export function writeHeader(out: Uint8Array, at: number, tag: number, length: number): number {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new TypeError(`der tag ${tag} is not a single-octet identifier`);
  }
  out[at] = tag;
  if (length < 0x80) {
    out[at + 1] = length;
    return at + 2;
  }
  const lengthOctets = headerLength(length) - 2;
  out[at + 1] = 0x80 | lengthOctets;
  for (let i = lengthOctets, v = length; i >= 1; i--, v = Math.floor(v / 256)) out[at + 1 + i] = v & 0xff;
  return at + 2 + lengthOctets;
}

/** Content octets of the INTEGER holding the unsigned big-endian `magnitude` (see {@link DerWriter.unsignedInteger}). */
export function unsignedIntegerLength(magnitude: Uint8Array): number {
  const digits = significant(magnitude);
  return ((digits[0] as number) & 0x80 ? 1 : 0) + digits.length;
}

const ZERO = Uint8Array.of(0);

/** `magnitude` without its leading zero octets; at least one octet. */
function significant(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  return magnitude.length === 0 ? ZERO : magnitude.subarray(start);
}

/** Writes DER into a buffer of a size known in advance. */
export class DerWriter {
  readonly #out: Buffer;
  #at = 0;

  /** A writer for exactly `size` octets (`Buffer.allocUnsafe`: every octet is written before {@link finish}). */
  constructor(size: number) {
    this.#out = Buffer.allocUnsafe(size);
  }

  /** The identifier and length octets of an element whose content follows. */
  header(tag: number, length: number): this {
    this.#at = writeHeader(this.#out, this.#at, tag, length);
    return this;
  }

  /** Octets already encoded (whole elements, or content after a {@link header}). */
  bytes(octets: Uint8Array): this {
    this.#out.set(octets, this.#at);
    this.#at += octets.length;
    return this;
  }

  /**
   * INTEGER holding the unsigned big-endian `magnitude` (empty means zero): minimal, with a 0x00
   * octet added when the top bit is set so the value stays positive.
   */
  unsignedInteger(magnitude: Uint8Array): this {
    const digits = significant(magnitude);
    const pad = (digits[0] as number) & 0x80 ? 1 : 0;
    this.header(0x02 /* INTEGER */, pad + digits.length);
    if (pad) this.byte(0);
    return this.bytes(digits);
  }

  /** The octets of a latin1 string (each character one octet, 0-255), e.g. a digest made as one. */
  latin1(octets: string): this {
    this.#at += this.#out.write(octets, this.#at, 'latin1');
    return this;
  }

  /** One octet. */
  byte(octet: number): this {
    this.#out[this.#at++] = octet;
    return this;
  }

  /**
   * The encoding.
   * @throws Error when fewer or more octets were written than the size given: the caller's
   *   lengths are wrong (a bug, never a consequence of input)
   */
  finish(): Buffer {
    if (this.#at !== this.#out.length) throw new Error(`der writer wrote ${this.#at} of ${this.#out.length} octets`);
    return this.#out;
  }
}
