import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as der from './der.js';
import { randomSerial, SERIAL_LENGTH } from './serial.js';

describe('randomSerial', () => {
  it('is 16 octets, positive, with a non-zero first octet', () => {
    for (let i = 0; i < 1000; i++) {
      const serial = randomSerial();
      assert.equal(serial.length, SERIAL_LENGTH);
      assert.equal((serial[0] as number) & 0xc0, 0x40);
    }
  });

  it('encodes as a minimal positive DER INTEGER of exactly 16 content octets', () => {
    for (let i = 0; i < 100; i++) {
      const serial = randomSerial();
      const encoded = der.integer(serial);
      assert.equal(encoded.length, 2 + SERIAL_LENGTH);
      const content = der.readInteger(der.decode(encoded));
      assert.deepEqual(content, serial);
      assert.equal((content[0] as number) & 0x80, 0);
    }
  });

  it('does not repeat, and every free bit varies (126 random bits)', () => {
    const seen = new Set<string>();
    let ones = Buffer.alloc(SERIAL_LENGTH);
    let zeros = Buffer.alloc(SERIAL_LENGTH, 0xff);
    for (let i = 0; i < 2000; i++) {
      const s = randomSerial();
      seen.add(s.toString('hex'));
      ones = Buffer.from(ones.map((b, j) => b | (s[j] as number)));
      zeros = Buffer.from(zeros.map((b, j) => b & (s[j] as number)));
    }
    assert.equal(seen.size, 2000);
    // Bits that were 1 at least once and 0 at least once: all but the two fixed top bits.
    const varying = [...ones].reduce((n, b, j) => n + popcount(b & ~(zeros[j] as number)), 0);
    assert.equal(varying, SERIAL_LENGTH * 8 - 2);
  });
});

function popcount(b: number): number {
  let n = 0;
  for (let v = b & 0xff; v; v >>= 1) n += v & 1;
  return n;
}
