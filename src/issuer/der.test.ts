import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAgentError } from '../errors.js';
import { createIssuerCa, createTrustAnchor } from './ca.js';
import * as der from './der.js';
import { MAX_OID_ARC_OCTETS, MAX_OID_OCTETS } from './der-reader.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');

/** Reads every element of a DER tree, so every length and every child is checked. */
function walk(el: der.DerElement): number {
  if (!el.constructed) return 1;
  return der.childrenOf(el).reduce((n, child) => n + walk(child), 1);
}

function assertMalformed(fn: () => unknown, label: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isAgentError(err, 'INVALID_REQUEST'), `${label}: expected AgentError INVALID_REQUEST, got ${String(err)}`);
    assert.match((err as Error).message, /^malformed der: [a-z]/);
    return true;
  });
}

describe('der encoder', () => {
  it('encodes integers minimally and positive', () => {
    const cases: Array<[Uint8Array | number | bigint, string]> = [
      [0, '020100'],
      [1, '020101'],
      [127, '02017f'],
      [128, '02020080'],
      [256, '02020100'],
      [0x7fffffff, '02047fffffff'],
      [2n ** 64n, '0209010000000000000000'],
      [bytes('000001'), '020101'],
      [bytes('ff'), '020200ff'],
      [bytes('0080'), '02020080'],
      [bytes(''), '020100'],
      [bytes('0000'), '020100'],
    ];
    for (const [value, want] of cases) assert.equal(hex(der.integer(value)), want, String(value));
    assert.throws(() => der.integer(-1), TypeError);
    assert.throws(() => der.integer(1.5), TypeError);
  });

  it('encodes object identifiers', () => {
    assert.equal(hex(der.oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(der.oid('2.5.29.17')), '0603551d11');
    assert.equal(hex(der.oid('2.999.3')), '0603883703');
    assert.equal(hex(der.oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
    for (const bad of ['', '1', '3.1', '1.40', '1.2.', '1..2', '1.02', 'a.b']) assert.throws(() => der.oid(bad), TypeError, bad);
  });

  it('encodes lengths in short and long form', () => {
    for (const [n, header] of [
      [0, '0400'],
      [127, '047f'],
      [128, '048180'],
      [255, '0481ff'],
      [256, '04820100'],
      [65536, '0483010000'],
    ] as const) {
      const el = der.octetString(Buffer.alloc(n));
      assert.equal(hex(el.subarray(0, header.length / 2)), header);
      assert.equal(el.length, header.length / 2 + n);
    }
  });

  it('encodes the simple types', () => {
    assert.equal(hex(der.boolean(true)), '0101ff');
    assert.equal(hex(der.boolean(false)), '010100');
    assert.equal(hex(der.nullValue()), '0500');
    assert.equal(hex(der.utf8String('é')), '0c02c3a9');
    assert.equal(hex(der.printableString('A b')), '1303412062');
    assert.equal(hex(der.ia5String('a@b')), '1603614062');
    assert.equal(hex(der.bitString(bytes('a0'), 5)), '030205a0');
    assert.equal(hex(der.namedBits([0, 2])), '030205a0', 'digitalSignature + keyEncipherment');
    assert.equal(hex(der.namedBits([5, 6])), '03020106', 'keyCertSign + cRLSign');
    assert.equal(hex(der.namedBits([8])), '0303070080');
    assert.equal(hex(der.namedBits([])), '030100');
    assert.equal(hex(der.explicit(0, der.integer(2))), 'a003020102');
    assert.equal(hex(der.implicit(2, Buffer.from('a'))), '820161');
    assert.equal(hex(der.implicit(0, der.integer(1), { constructed: true })), 'a003020101');
    assert.throws(() => der.printableString('a@b'), TypeError);
    assert.throws(() => der.ia5String('é'), TypeError);
    assert.throws(() => der.bitString(Buffer.alloc(0), 1), TypeError);
    assert.throws(() => der.explicit(31, der.nullValue()), TypeError);
    assert.throws(() => der.tlv(0x1f), TypeError);
  });

  it('sorts SET OF elements', () => {
    assert.equal(hex(der.set(der.integer(2), der.integer(1), der.boolean(true))), '3109' + '0101ff' + '020101' + '020102');
  });

  it('picks UTCTime before 2050 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    const cases: Array<[number, string]> = [
      [Date.UTC(2049, 11, 31, 23, 59, 59, 999), '170d3439313233313233353935395a'],
      [Date.UTC(2050, 0, 1), '180f32303530303130313030303030305a'],
      [Date.UTC(1950, 0, 1), '170d3530303130313030303030305a'],
      [Date.UTC(1949, 11, 31), '180f31393439313233313030303030305a'],
    ];
    for (const [ms, want] of cases) assert.equal(hex(der.time(ms)), want, new Date(ms).toISOString());
    assert.throws(() => der.time(Number.NaN), TypeError);
    assert.throws(() => der.utcTime(Date.UTC(2050, 0, 1)), TypeError);
  });
});

describe('der reader', () => {
  it('round-trips nested structures and keeps raw bytes', () => {
    const inner = der.sequence(der.integer(5), der.utf8String('x'));
    const outer = der.sequence(der.oid('1.2.3'), inner, der.explicit(3, der.octetString(Buffer.from('hi'))));
    const el = der.decode(outer);
    const [a, b, c] = der.childrenOf(el);
    assert.equal(der.readOid(a), '1.2.3');
    assert.deepEqual(b?.raw, inner);
    assert.equal(der.readSmallInteger(der.childrenOf(b as der.DerElement)[0]), 5);
    assert.equal(c?.tagClass, 'context');
    assert.equal(c?.tagNumber, 3);
    assert.equal(der.readOctetString(der.childrenOf(c as der.DerElement)[0]).toString(), 'hi');
  });

  it('round-trips values', () => {
    for (const oid of ['0.0', '1.39', '2.5.4.3', '2.999.3', '1.2.840.113549.1.9.14', '2.25.340282366920938463463374607431768211455']) {
      assert.equal(der.readOid(der.decode(der.oid(oid))), oid);
    }
    // Arcs either side of the 7-octet (49-bit) bound up to which arcs are read as numbers, the
    // first subidentifier (40 × first + second) included.
    // The first subidentifier either side of the bound: 2^49 - 1 is read as a number, 2^49 not.
    for (const oid of [`2.${2n ** 49n - 81n}`, `2.${2n ** 49n - 80n}`]) assert.equal(der.readOid(der.decode(der.oid(oid))), oid);
    for (const bits of [48, 49, 50, 56, 63, 64]) {
      for (const arc of [2n ** BigInt(bits) - 1n, 2n ** BigInt(bits)]) {
        for (const oid of [`1.2.${arc}.7`, `2.${arc}`, `2.${arc}.${arc}`]) assert.equal(der.readOid(der.decode(der.oid(oid))), oid);
      }
    }
    for (const n of [0, 1, 127, 128, 65535, 2 ** 40]) assert.equal(der.readSmallInteger(der.decode(der.integer(n))), n);
    for (const ms of [
      Date.UTC(1950, 0, 1),
      Date.UTC(2024, 1, 29, 12, 30, 45),
      Date.UTC(2049, 11, 31, 23, 59, 59),
      Date.UTC(2050, 0, 1),
      Date.UTC(9999, 11, 31),
    ]) {
      assert.equal(der.readTime(der.decode(der.time(ms))), ms);
    }
    for (const s of ['', 'hello', 'ünïcödé ✓']) assert.equal(der.readString(der.decode(der.utf8String(s))), s);
    assert.equal(der.readString(der.decode(der.printableString('Abc 1'))), 'Abc 1');
    assert.equal(der.readString(der.decode(der.ia5String('a@b.c'))), 'a@b.c');
    assert.equal(der.readString(der.decode(bytes('1e0400e90041'))), 'éA', 'BMPString');
    assert.equal(der.readString(der.decode(bytes('1c080001f60000000041'))), '\u{1f600}A', 'UniversalString');
    assert.equal(der.readBoolean(der.decode(der.boolean(true))), true);
    const bits = der.readBitString(der.decode(der.bitString(bytes('a0'), 5)));
    assert.deepEqual([bits.unusedBits, hex(bits.bytes)], [5, 'a0']);
    assert.equal(der.readTime(der.decode(bytes('170d3930303130313030303030305a'))), Date.UTC(1990, 0, 1));
  });

  it('rejects malformed input with a clear error', () => {
    const cases: Array<[string, () => unknown]> = [
      ['empty', () => der.decode(bytes(''))],
      ['lone tag', () => der.decode(bytes('30'))],
      ['length past end', () => der.decode(bytes('3005020101'))],
      ['indefinite length', () => der.decode(bytes('3080020101 0000'))],
      ['5-octet length', () => der.decode(bytes('30850000000003020101'))],
      ['truncated long length', () => der.decode(bytes('3082 01'))],
      ['non-minimal long length', () => der.decode(bytes('308103020101'))],
      ['length with leading zero', () => der.decode(bytes(`30820080${'00'.repeat(128)}`))],
      ['trailing garbage', () => der.decode(bytes('3000 00'))],
      ['multi-octet tag', () => der.decode(bytes('1f8101 00'))],
      ['child past parent', () => der.childrenOf(der.decode(bytes('3003 020201')))],
      ['children of primitive', () => der.childrenOf(der.decode(bytes('020101')))],
      ['empty integer', () => der.readInteger(der.decode(bytes('0200')))],
      ['non-minimal integer', () => der.readInteger(der.decode(bytes('02020001')))],
      ['non-minimal negative integer', () => der.readInteger(der.decode(bytes('0202ff80')))],
      ['negative small integer', () => der.readSmallInteger(der.decode(bytes('0201ff')))],
      ['wrong tag', () => der.readInteger(der.decode(bytes('0401 00')))],
      ['missing element', () => der.readOid(undefined)],
      ['empty oid', () => der.readOid(der.decode(bytes('0600')))],
      ['truncated oid arc', () => der.readOid(der.decode(bytes('0602 2a86')))],
      ['non-minimal oid arc', () => der.readOid(der.decode(bytes('0603 2a8001')))],
      ['bit string without padding octet', () => der.readBitString(der.decode(bytes('0300')))],
      ['bit string padding 8', () => der.readBitString(der.decode(bytes('0302 08ff')))],
      ['bit string non-zero padding', () => der.readBitString(der.decode(bytes('0302 01ff')))],
      ['ber boolean', () => der.readBoolean(der.decode(bytes('010101')))],
      ['bad utf-8', () => der.readString(der.decode(bytes('0c01ff')))],
      ['non-ascii ia5', () => der.readString(der.decode(bytes('1601e9')))],
      ['odd bmp string', () => der.readString(der.decode(bytes('1e0100')))],
      ['surrogate universal string', () => der.readString(der.decode(bytes('1c040000d800')))],
      ['not a string', () => der.readString(der.decode(bytes('020101')))],
      ['utc time without seconds', () => der.readTime(der.decode(bytes('170b 393930313031303030305a')))],
      ['utc time with offset', () => der.readTime(der.decode(bytes('1711 3939303130313030303030302b30313030')))],
      ['generalized time with fraction', () => der.readTime(der.decode(bytes('1811 32303530303130313030303030302e315a')))],
      ['february 30', () => der.readTime(der.decode(der.utcTime(Date.UTC(2024, 1, 1)).fill(0x33, 4, 6)))],
      ['hour 24', () => der.readTime(der.decode(bytes('170d 3234303130313234303030305a')))],
      ['time with wrong tag', () => der.readTime(der.decode(bytes('0401 00')))],
    ];
    for (const [label, fn] of cases) assertMalformed(fn, label);
  });

  it("keeps children inside their parent even when the input goes on, offsets counted from the parent's content", () => {
    const refusal = (offset: number) => ({ message: `malformed der: length runs past the end of the input at offset ${offset}` });
    // SEQUENCE { INTEGER with a length of 2 } and one more octet after the sequence.
    assert.throws(() => der.childrenOf(der.readElement(bytes('3003 020201 00'))), refusal(0));
    // SEQUENCE { INTEGER 5, SEQUENCE { INTEGER 7, INTEGER of length 2 } }, and an octet after it all.
    const outer = der.readElement(bytes('300b 020105 3006 020107 020201 00'));
    const [, inner] = der.childrenOf(outer);
    assert.throws(() => der.childrenOf(inner as der.DerElement), refusal(3));
  });

  it('bounds object identifiers: 64 octets in all, 19 octets an arc (2.25 UUID arcs still read)', () => {
    const oid = (content: Buffer): der.DerElement => der.decode(der.tlv(0x06, content));
    const longest = Buffer.concat([bytes('2a'), Buffer.alloc(MAX_OID_OCTETS - 1, 0x01)]);
    assert.equal(der.readOid(oid(longest)).split('.').length, MAX_OID_OCTETS + 1);
    const widestArc = Buffer.concat([bytes('2a'), Buffer.alloc(MAX_OID_ARC_OCTETS - 1, 0x81), bytes('01')]);
    assert.equal(der.readOid(oid(widestArc)), `1.2.${(128n ** BigInt(MAX_OID_ARC_OCTETS) - 1n) / 127n}`);
    assertMalformed(() => der.readOid(oid(Buffer.concat([longest, bytes('01')]))), '65 octets');
    assertMalformed(() => der.readOid(oid(Buffer.concat([bytes('2a81'), widestArc.subarray(1)]))), '20-octet arc');
    // The seed of issue 15: a 200 KB arc took 13 s. Now it is refused before any arc is computed.
    const huge = Buffer.alloc(200_000, 0x81);
    huge[huge.length - 1] = 0x01;
    assert.throws(() => der.readOid(oid(huge)), /object identifier is longer than 64 octets/);
  });

  it('reads a critical flag only as an explicit TRUE (DER omits the default FALSE)', () => {
    assert.equal(der.readCriticalFlag(der.decode(der.boolean(true))), true);
    assertMalformed(() => der.readCriticalFlag(der.decode(der.boolean(false))), 'explicit false');
    assertMalformed(() => der.readCriticalFlag(der.decode(bytes('0500'))), 'not a boolean');
  });

  it('never reads past the input of a truncated certificate, at any length', () => {
    const cert = createTrustAnchor().certificateDer;
    assert.ok(walk(der.decode(cert)) > 20);
    for (let n = 0; n < cert.length; n++) assertMalformed(() => walk(der.decode(cert.subarray(0, n))), `prefix ${n}`);
  });

  it('survives random and mutated input: it returns or throws AgentError, nothing else', () => {
    const anchor = createTrustAnchor();
    const cert = createIssuerCa({ anchor }).certificateDer;
    const inputs: Buffer[] = [];
    for (let i = 0; i < 3000; i++) inputs.push(randomBytes(1 + (i % 64)));
    for (let i = 0; i < 3000; i++) {
      const copy = Buffer.from(cert);
      copy[i % copy.length] = randomBytes(1)[0] as number;
      const at = (i * 7919) % copy.length;
      copy[at] = (copy[at] as number) ^ (1 << (i % 8));
      inputs.push(copy);
    }
    // Plausible headers followed by noise, so that deeper levels get exercised too.
    for (let i = 0; i < 1000; i++) inputs.push(Buffer.concat([bytes('3082'), randomBytes(2), randomBytes(i % 200)]));
    for (const input of inputs) {
      try {
        walk(der.decode(input));
      } catch (err) {
        assert.ok(isAgentError(err, 'INVALID_REQUEST'), `unexpected ${String(err)} for ${hex(input)}`);
      }
    }
  });

  it('accepts a Uint8Array that is a view into a larger buffer', () => {
    const backing = new Uint8Array([0xff, 0x30, 0x03, 0x02, 0x01, 0x07, 0xff]);
    const el = der.decode(backing.subarray(1, 6));
    assert.equal(der.readSmallInteger(der.childrenOf(el)[0]), 7);
  });
});
