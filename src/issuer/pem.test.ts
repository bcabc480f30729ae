import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { opensslOk, withTempDir } from '../../test/support/openssl.js';
import { isAgentError } from '../errors.js';
import { createTrustAnchor } from './ca.js';
import { certificatesFromPem, pemBlocks, toPem } from './pem.js';

describe('pem', () => {
  const anchor = createTrustAnchor();

  it('round-trips with 64-character lines and a trailing newline', () => {
    const pem = toPem('CERTIFICATE', anchor.certificateDer);
    const lines = pem.trimEnd().split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines[lines.length - 1], '-----END CERTIFICATE-----');
    assert.ok(lines.slice(1, -2).every((l) => l.length === 64));
    assert.ok(pem.endsWith('-----\n'));
    assert.deepEqual(pemBlocks(pem), [{ type: 'CERTIFICATE', der: anchor.certificateDer }]);
    assert.equal(toPem('X', Buffer.alloc(0)), '-----BEGIN X-----\n-----END X-----\n');
    assert.throws(() => toPem('bad--label', Buffer.alloc(1)), TypeError);
  });

  it('matches what node and openssl produce and read', async () => {
    assert.equal(toPem('CERTIFICATE', anchor.certificateDer), new X509Certificate(anchor.certificateDer).toString());
    await withTempDir(async (dir) => {
      const file = await dir.write('ca.pem', toPem('CERTIFICATE', anchor.certificateDer));
      const viaOpenssl = opensslOk(['x509', '-in', file]);
      assert.deepEqual(certificatesFromPem(viaOpenssl), [anchor.certificateDer]);
    });
  });

  it('tolerates CRLF, indentation, headers and text around blocks', () => {
    const pem = toPem('CERTIFICATE', anchor.certificateDer);
    const messy = [
      'subject=CN = root.linkerd.cluster.local',
      pem.replace(/\n/g, '\r\n').replace(/^(?!-)/gm, '  '),
      'some text in between',
      anchor.privateKeyPem,
      `-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n${pem.split('\n').slice(1).join('\n')}`,
    ].join('\n');
    const blocks = pemBlocks(messy);
    assert.deepEqual(
      blocks.map((b) => b.type),
      ['CERTIFICATE', 'PRIVATE KEY', 'CERTIFICATE'],
    );
    assert.deepEqual(blocks[0]?.der, anchor.certificateDer);
    assert.deepEqual(blocks[2]?.der, anchor.certificateDer);
    assert.deepEqual(certificatesFromPem(messy), [anchor.certificateDer, anchor.certificateDer]);
    assert.deepEqual(
      pemBlocks(messy, { type: 'PRIVATE KEY' }).map((b) => b.type),
      ['PRIVATE KEY'],
    );
  });

  it('returns nothing for text without blocks', () => {
    assert.deepEqual(pemBlocks(''), []);
    assert.deepEqual(certificatesFromPem('not pem at all'), []);
    assert.deepEqual(certificatesFromPem(anchor.privateKeyPem), []);
  });

  it('reports damaged blocks without echoing their content', () => {
    const pem = toPem('CERTIFICATE', anchor.certificateDer);
    const cases = [
      pem.replace(/(\n[A-Za-z0-9+/]{10})[A-Za-z0-9+/]/, '$1*'),
      pem.replace('-----END CERTIFICATE-----', '-----END PRIVATE KEY-----'),
      pem.replace(/\n[A-Za-z0-9+/]{3}/, '\n'),
    ];
    for (const text of cases) {
      assert.throws(
        () => pemBlocks(text),
        (err: unknown) => isAgentError(err, 'CREDENTIALS_INVALID') && !(err as Error).message.includes('MII'),
      );
    }
  });
});
