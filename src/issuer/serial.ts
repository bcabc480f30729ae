/**
 * Certificate serial numbers. Linkerd counts 1, 2, 3... per issuer load, so serials repeat across
 * restarts and replicas; docs/certificates.md asks for a random positive serial of at least 64 bits
 * (CA/Browser Forum BR §7.1 asks the same of public CAs).
 */
import { randomBytes } from 'node:crypto';

/** Length of every serial from {@link randomSerial}, in octets. */
export const SERIAL_LENGTH = 16;

/**
 * Random octets are drawn from the CSPRNG 4 KiB at a time (256 serials), as Node's own
 * `randomUUID` pools its entropy: one `RAND_bytes` call per serial costs several µs on the
 * issuance path. Serials are public (every certificate shows its own), so nothing secret is kept.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * A fresh random serial: the unsigned big-endian value, 16 octets, 126 random bits.
 *
 * The top bit is cleared so the DER INTEGER is positive without a 0x00 pad, and the next bit is
 * set so the first octet is never zero: the encoding is then always exactly 16 content octets,
 * minimal, and well under RFC 5280's 20-octet limit. Never throws (the CSPRNG is synchronous).
 */
export function randomSerial(): Buffer {
  if (offset + SERIAL_LENGTH > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  // A copy: callers own their serial, and the pool moves on.
  const serial = Buffer.from(pool.subarray(offset, offset + SERIAL_LENGTH));
  offset += SERIAL_LENGTH;
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  return serial;
}
