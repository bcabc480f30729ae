import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { opensslOk, withTempDir } from '../../test/support/openssl.js';
import { isAgentError } from '../errors.js';
import { createTrustAnchor } from './ca.js';
import { createCsr, MAX_CSR_BYTES, parseCsr } from './csr.js';
import * as der from './der.js';
import { newKeyPair } from './keygen.js';

const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const SPIFFE = 'spiffe://cluster.local/ns/emojivoto/sa/web';
const ec = (namedCurve: string): KeyObject => newKeyPair('ec', { namedCurve }).privateKey;
const spki = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });

function assertDoesNotParse(input: Uint8Array, label: string): void {
  assert.throws(
    () => parseCsr(input),
    (err: unknown) => {
      assert.ok(isAgentError(err, 'INVALID_REQUEST'), `${label}: ${String(err)}`);
      assert.equal((err as Error).message, 'certificate signing request does not parse');
      return true;
    },
  );
}

/** Replaces the last occurrence of `from` with `to` (same length) in a copy; strings are UTF-8. */
function patch(buf: Buffer, from: Buffer | string, to: Buffer | string): Buffer {
  const f = Buffer.from(from);
  const i = buf.lastIndexOf(f);
  assert.ok(i >= 0, 'pattern not found');
  const copy = Buffer.from(buf);
  Buffer.from(to).copy(copy, i);
  return copy;
}

async function opensslCsr(key: KeyObject, subj: string, san: string, extra: string[] = []): Promise<Buffer> {
  return withTempDir(async (dir) => {
    const keyFile = await dir.write('key.pem', key.export({ type: 'pkcs8', format: 'pem' }));
    const out = `${dir.path}/csr.der`;
    opensslOk([
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      subj,
      '-addext',
      `subjectAltName=${san}`,
      '-outform',
      'DER',
      '-out',
      out,
      ...extra,
    ]);
    return readFile(out);
  });
}

describe('createCsr + parseCsr', () => {
  it('round-trips names and key, and the signature verifies', () => {
    for (const curve of ['prime256v1', 'secp384r1']) {
      const privateKey = ec(curve);
      const csr = parseCsr(createCsr({ privateKey, commonName: DNS, dnsNames: [DNS, 'b.example'], uris: [SPIFFE] }));
      assert.equal(csr.commonName, DNS);
      assert.deepEqual(csr.dnsNames, [DNS, 'b.example']);
      assert.deepEqual(csr.uris, [SPIFFE]);
      assert.deepEqual([csr.emails, csr.ipAddresses], [[], []]);
      assert.equal(csr.publicKeyAlgorithm, 'ec');
      assert.equal(csr.namedCurve, curve);
      assert.deepEqual(csr.publicKeySpki, spki(privateKey));
      assert.ok(csr.publicKey.equals(createPublicKey(privateKey)));
      assert.equal(csr.signatureAlgorithm, curve === 'prime256v1' ? '1.2.840.10045.4.3.2' : '1.2.840.10045.4.3.3');
      assert.equal(csr.verifySignature(), true);
    }
  });

  it('makes an empty subject and no attribute when asked for nothing', () => {
    const csr = parseCsr(createCsr({ privateKey: ec('prime256v1') }));
    assert.equal(csr.commonName, undefined);
    assert.deepEqual([csr.dnsNames, csr.uris], [[], []]);
    assert.equal(csr.verifySignature(), true);
  });

  it('is accepted by openssl req -verify and @peculiar/x509', async () => {
    const der_ = createCsr({ privateKey: ec('prime256v1'), dnsNames: [DNS], uris: [SPIFFE] });
    await withTempDir(async (dir) => {
      const file = await dir.write('csr.der', der_);
      const text = opensslOk(['req', '-inform', 'DER', '-in', file, '-verify', '-noout', '-text']);
      assert.match(
        text,
        /X509v3 Subject Alternative Name: critical\s+DNS:web\.emojivoto\.serviceaccount\.identity\.linkerd\.cluster\.local, URI:spiffe:\/\/cluster\.local\/ns\/emojivoto\/sa\/web/,
      );
    });
    const csr = new x509.Pkcs10CertificateRequest(der_);
    assert.equal(await csr.verify(), true);
    assert.deepEqual(new x509.SubjectAlternativeNameExtension((csr.getExtension('2.5.29.17') as x509.Extension).rawData).names.toJSON(), [
      { type: 'dns', value: DNS },
      { type: 'url', value: SPIFFE },
    ]);
  });

  it('refuses keys it cannot sign with and bad names', () => {
    assert.throws(
      () => createCsr({ privateKey: newKeyPair('ed25519').privateKey }),
      /csr key must be an ec p-256 or p-384 private key, found ed25519/,
    );
    assert.throws(() => createCsr({ privateKey: ec('secp521r1') }), /found ec secp521r1/);
    assert.throws(() => createCsr({ privateKey: ec('prime256v1'), dnsNames: [''] }), TypeError);
    assert.throws(() => createCsr({ privateKey: ec('prime256v1'), uris: ['spiffe://é'] }), TypeError);
  });
});

describe('parseCsr with CSRs from other encoders', () => {
  const san = 'DNS:a.example,DNS:b.example,URI:spiffe://td/x,email:me@example.com,IP:10.0.0.1,IP:2001:db8::1,IP:::1,IP:1:0:0:2:0:0:0:3';
  const keys: Array<[string, KeyObject, string[]]> = [
    ['ec p-256 sha256', ec('prime256v1'), []],
    ['ec p-384 sha384', ec('secp384r1'), ['-sha384']],
    ['ec p-256 sha512', ec('prime256v1'), ['-sha512']],
    ['rsa sha256', newKeyPair('rsa', { modulusLength: 2048 }).privateKey, []],
    ['rsa sha384', newKeyPair('rsa', { modulusLength: 2048 }).privateKey, ['-sha384']],
    ['rsa sha512', newKeyPair('rsa', { modulusLength: 2048 }).privateKey, ['-sha512']],
    ['ed25519', newKeyPair('ed25519').privateKey, []],
  ];
  for (const [label, key, extra] of keys) {
    it(`extracts every SAN type from an openssl CSR (${label})`, async () => {
      const input = await opensslCsr(key, '/O=Acme/CN=first/CN=last', san, extra);
      const csr = parseCsr(input);
      // What is parsed owns its bytes: a caller reusing the request buffer changes nothing.
      const spki = Buffer.from(csr.publicKeySpki);
      input.fill(0);
      assert.deepEqual(csr.publicKeySpki, spki);
      assert.equal(csr.commonName, 'last', 'the last CN wins, as in Go');
      assert.deepEqual(csr.dnsNames, ['a.example', 'b.example']);
      assert.deepEqual(csr.uris, ['spiffe://td/x']);
      assert.deepEqual(csr.emails, ['me@example.com']);
      assert.deepEqual(csr.ipAddresses, ['10.0.0.1', '2001:db8::1', '::1', '1:0:0:2::3']);
      assert.equal(csr.publicKeyAlgorithm, key.asymmetricKeyType);
      assert.equal(csr.namedCurve, key.asymmetricKeyDetails?.namedCurve);
      assert.equal(csr.verifySignature(), true);
    });
  }

  it('reads a CSR made by @peculiar/x509', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const made = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${DNS}`,
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: DNS },
          { type: 'url', value: SPIFFE },
          { type: 'email', value: 'a@b.c' },
          { type: 'ip', value: '192.168.1.2' },
        ]),
      ],
    });
    const csr = parseCsr(Buffer.from(made.rawData));
    assert.equal(csr.commonName, DNS);
    assert.deepEqual([csr.dnsNames, csr.uris, csr.emails, csr.ipAddresses], [[DNS], [SPIFFE], ['a@b.c'], ['192.168.1.2']]);
    assert.equal(csr.verifySignature(), true);
  });
});

describe('verifySignature', () => {
  const privateKey = ec('prime256v1');
  const good = createCsr({ privateKey, commonName: DNS, dnsNames: [DNS] });

  it('is false when the signed part was tampered with', () => {
    const csr = parseCsr(patch(good, 'web.emojivoto.serviceaccount', 'bad.emojivoto.serviceaccount'));
    assert.deepEqual(csr.dnsNames, [DNS.replace('web', 'bad')]);
    assert.equal(csr.verifySignature(), false);
  });

  it('is false when the signature was tampered with', () => {
    const copy = Buffer.from(good);
    copy[copy.length - 5] = (copy[copy.length - 5] as number) ^ 0x01;
    assert.equal(parseCsr(copy).verifySignature(), false);
  });

  it('is false for an unknown algorithm or one that does not fit the key', () => {
    const withAlgorithm = (algorithm: Buffer): Buffer => {
      const [info, , sig] = der.childrenOf(der.decode(good)) as [der.DerElement, der.DerElement, der.DerElement];
      return der.sequence(info.raw, algorithm, sig.raw);
    };
    assert.equal(parseCsr(withAlgorithm(der.sequence(der.oid('1.2.840.10045.4.3.2')))).verifySignature(), true);
    assert.equal(parseCsr(withAlgorithm(der.sequence(der.oid('1.2.840.10045.4.3.9')))).verifySignature(), false);
    assert.equal(parseCsr(withAlgorithm(der.sequence(der.oid('1.2.840.113549.1.1.11'), der.nullValue()))).verifySignature(), false);
    assert.equal(parseCsr(withAlgorithm(der.sequence(der.oid('1.3.101.112')))).verifySignature(), false);
  });

  it('is false for a signature made by another key', () => {
    const other = createCsr({ privateKey: ec('prime256v1'), commonName: DNS, dnsNames: [DNS] });
    const [info] = der.childrenOf(der.decode(good));
    const [, alg, sig] = der.childrenOf(der.decode(other));
    const spliced = der.sequence((info as der.DerElement).raw, (alg as der.DerElement).raw, (sig as der.DerElement).raw);
    assert.equal(parseCsr(spliced).verifySignature(), false);
  });
});

/** The CSR with its version INTEGER set to 1 (the first `02 01 00` after the two headers). */
function patchVersion(csr: Buffer): Buffer {
  const copy = Buffer.from(csr);
  const at = copy.indexOf(Buffer.from('020100', 'hex'));
  assert.ok(at > 0 && at < 12);
  copy[at + 2] = 1;
  return copy;
}

describe('parseCsr on bad input', () => {
  const good = createCsr({ privateKey: ec('prime256v1'), commonName: DNS, dnsNames: [DNS], uris: [SPIFFE] });

  it('throws INVALID_REQUEST for every truncation', () => {
    for (let n = 0; n < good.length; n++) assertDoesNotParse(good.subarray(0, n), `prefix ${n}`);
  });

  it('throws INVALID_REQUEST for random bytes and wrong structures', () => {
    for (let i = 0; i < 500; i++) assertDoesNotParse(randomBytes(1 + (i % 300)), 'random');
    assertDoesNotParse(createTrustAnchor().certificateDer, 'a certificate');
    assertDoesNotParse(Buffer.concat([good, Buffer.from([0])]), 'trailing byte');
    assertDoesNotParse(patchVersion(good), 'version 2');
  });

  it('survives mutations: parses or throws INVALID_REQUEST (CSR_REJECTED for a key turned into explicit parameters), nothing else', () => {
    for (let i = 0; i < 3000; i++) {
      const copy = Buffer.from(good);
      copy[(i * 7919) % copy.length] = randomBytes(1)[0] as number;
      try {
        parseCsr(copy).verifySignature();
      } catch (err) {
        assert.ok(isAgentError(err, 'INVALID_REQUEST', 'CSR_REJECTED'), String(err));
      }
    }
  });

  it('refuses a request with two subjectAltName extensions', () => {
    const privateKey = ec('prime256v1');
    const sanExt = (name: string): Buffer =>
      der.sequence(der.oid('2.5.29.17'), der.octetString(der.sequence(der.implicit(2, Buffer.from(name)))));
    const info = der.sequence(
      der.integer(0),
      der.sequence(),
      spki(privateKey),
      der.implicit(0, der.sequence(der.oid('1.2.840.113549.1.9.14'), der.set(der.sequence(sanExt('a.example'), sanExt('b.example')))), {
        constructed: true,
      }),
    );
    const sig = der.bitString(Buffer.from('3006020101020101', 'hex'));
    assertDoesNotParse(der.sequence(info, der.sequence(der.oid('1.2.840.10045.4.3.2')), sig), 'duplicate san');
  });

  it('refuses malformed SAN values', () => {
    const privateKey = ec('prime256v1');
    const withSan = (names: Buffer): Buffer =>
      der.sequence(
        der.sequence(
          der.integer(0),
          der.sequence(),
          spki(privateKey),
          der.implicit(
            0,
            der.sequence(
              der.oid('1.2.840.113549.1.9.14'),
              der.set(der.sequence(der.sequence(der.oid('2.5.29.17'), der.octetString(names)))),
            ),
            { constructed: true },
          ),
        ),
        der.sequence(der.oid('1.2.840.10045.4.3.2')),
        der.bitString(Buffer.from('3006020101020101', 'hex')),
      );
    assert.deepEqual(parseCsr(withSan(der.sequence(der.implicit(2, Buffer.from('ok.example'))))).dnsNames, ['ok.example']);
    assertDoesNotParse(withSan(der.sequence(der.implicit(7, Buffer.from([1, 2, 3])))), '3-octet ip');
    assertDoesNotParse(withSan(der.sequence(der.implicit(2, Buffer.from('é', 'latin1')))), 'non-ascii dns');
    assertDoesNotParse(withSan(der.integer(1)), 'not a sequence');
  });
});

describe('parseCsr bounds (issue 15)', () => {
  const privateKey = ec('prime256v1');
  const withSanExtension = (extension: Buffer): Buffer =>
    der.sequence(
      der.sequence(
        der.integer(0),
        der.sequence(),
        spki(privateKey),
        der.implicit(0, der.sequence(der.oid('1.2.840.113549.1.9.14'), der.set(der.sequence(extension))), { constructed: true }),
      ),
      der.sequence(der.oid('1.2.840.10045.4.3.2')),
      der.bitString(Buffer.from('3006020101020101', 'hex')),
    );
  const names = der.octetString(der.sequence(der.implicit(2, Buffer.from('ok.example'))));

  it('refuses a CSR over 8 KiB before parsing it, naming the limit', () => {
    assert.equal(MAX_CSR_BYTES, 8192);
    const big = createCsr({ privateKey, dnsNames: Array.from({ length: 600 }, (_, i) => `name-${i}.example`) });
    assert.ok(big.length > MAX_CSR_BYTES);
    assert.throws(
      () => parseCsr(big),
      (err: unknown) =>
        isAgentError(err, 'INVALID_REQUEST') && (err as Error).message === 'certificate signing request is larger than 8192 bytes',
    );
    const fits = createCsr({ privateKey, dnsNames: Array.from({ length: 300 }, (_, i) => `name-${i}.example`) });
    assert.ok(fits.length <= MAX_CSR_BYTES);
    assert.equal(parseCsr(fits).dnsNames.length, 300);
  });

  it('refuses an explicit critical FALSE (DER omits default values) and accepts TRUE or absent', () => {
    const oid = der.oid('2.5.29.17');
    assert.deepEqual(parseCsr(withSanExtension(der.sequence(oid, der.boolean(true), names))).dnsNames, ['ok.example']);
    assert.deepEqual(parseCsr(withSanExtension(der.sequence(oid, names))).dnsNames, ['ok.example']);
    assertDoesNotParse(withSanExtension(der.sequence(oid, der.boolean(false), names)), 'explicit false');
  });

  it('refuses an over-long object identifier anywhere in the request', () => {
    const longOid = der.tlv(0x06, Buffer.concat([Buffer.from([0x2a]), Buffer.alloc(64, 0x01)]));
    assertDoesNotParse(withSanExtension(der.sequence(longOid, names)), 'long extension id');
  });
});

describe('parseCsr result', () => {
  it('does not change when the caller reuses the input buffer', () => {
    const privateKey = newKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
    const input = createCsr({ privateKey, dnsNames: [DNS] });
    const csr = parseCsr(input);
    const spkiBefore = Buffer.from(csr.publicKeySpki);
    input.fill(0);
    assert.deepEqual(csr.publicKeySpki, spkiBefore);
    assert.deepEqual(csr.dnsNames, [DNS]);
    assert.equal(csr.verifySignature(), true);
  });
});
