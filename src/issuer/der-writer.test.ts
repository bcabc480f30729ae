import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as der from './der.js';
import { DerWriter, headerLength, tlvLength } from './der-writer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DerWriter', () => {
  it('writes what the element encoders make, in one buffer', () => {
    const oid = der.oid('2.5.29.17');
    const name = Buffer.from('a.b');
    const namesLength = tlvLength(name.length);
    const contentLength = oid.length + tlvLength(namesLength) + tlvLength(2);
    const written = new DerWriter(tlvLength(contentLength))
      .header(der.TAG.SEQUENCE, contentLength)
      .bytes(oid)
      .header(der.TAG.SEQUENCE, namesLength)
      .header(0x82, name.length)
      .bytes(name)
      .unsignedInteger(Buffer.from('0080', 'hex'))
      .finish();
    assert.equal(hex(written), hex(der.sequence(oid, der.sequence(der.implicit(2, name)), der.integer(0x80))));
  });

  it('counts header octets as the encoders write them', () => {
    for (const n of [0, 127, 128, 255, 256, 65535, 65536]) {
      assert.equal(headerLength(n), der.header(der.TAG.OCTET_STRING, n).length, String(n));
      assert.equal(tlvLength(n), der.octetString(Buffer.alloc(n)).length, String(n));
    }
  });

  it('writes a latin1 string one octet per character', () => {
    assert.equal(hex(new DerWriter(4).byte(0x04).latin1('\u00ff\u0000a').finish()), '04ff0061');
  });

  it('refuses to finish when the lengths given were wrong', () => {
    assert.throws(() => new DerWriter(3).header(der.TAG.NULL, 0).finish(), /wrote 2 of 3 octets/);
    assert.throws(() => new DerWriter(2).header(der.TAG.OCTET_STRING, 1).byte(0).finish(), /wrote 3 of 2 octets/);
    assert.throws(() => new DerWriter(4).header(0x1f, 0), TypeError);
  });
});
