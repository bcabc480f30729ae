import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatSpireJson,
  jwtBundlesResponseJson,
  jwtSvidResponseJson,
  validateJwtSvidResponseJson,
  x509SvidResponseJson,
} from './spire-json.js';

const ID = 'spiffe://example.org/foo';

describe('formatSpireJson: what spire-agent prints with -output json', () => {
  it('X509SVIDResponse: proto names, every field, sorted keys, one line', () => {
    const text = formatSpireJson([
      x509SvidResponseJson({
        svids: [{ spiffe_id: ID, x509_svid: Buffer.from([1, 2]), x509_svid_key: Buffer.from([3]), bundle: Buffer.from([4]), hint: '' }],
        crl: [],
        federated_bundles: {},
      }),
    ]);
    assert.equal(
      text,
      `{"crl":[],"federated_bundles":{},"svids":[{"bundle":"BA==","hint":"","spiffe_id":"${ID}","x509_svid":"AQI=","x509_svid_key":"Aw=="}]}\n`,
    );
  });

  it('fetch jwt: the SVID response and the bundles response as a two-element array', () => {
    const text = formatSpireJson([
      jwtSvidResponseJson({ svids: [{ spiffe_id: ID, svid: 'a.b.c', hint: 'external' }] }),
      jwtBundlesResponseJson({ bundles: { 'spiffe://example.org': Buffer.from('{"keys":[]}') } }),
    ]);
    assert.equal(
      text,
      `[{"svids":[{"hint":"external","spiffe_id":"${ID}","svid":"a.b.c"}]},{"bundles":{"spiffe://example.org":"eyJrZXlzIjpbXX0="}}]\n`,
    );
  });

  it('validate jwt: claims as an object with sorted keys; nulls dropped; HTML characters escaped as Go does', () => {
    const text = formatSpireJson([
      validateJwtSvidResponseJson({
        spiffe_id: ID,
        claims: {
          fields: {
            sub: { kind: 'stringValue', stringValue: '<a&b>\u2028' },
            aud: { kind: 'listValue', listValue: { values: [{ kind: 'stringValue', stringValue: 'foo' }] } },
            exp: { kind: 'numberValue', numberValue: 1_700_000_000 },
            gone: { kind: 'nullValue', nullValue: 0 },
          },
        },
      }),
    ]);
    assert.equal(text, `{"claims":{"aud":["foo"],"exp":1700000000,"sub":"\\u003ca\\u0026b\\u003e\\u2028"},"spiffe_id":"${ID}"}\n`);
    assert.equal(formatSpireJson([validateJwtSvidResponseJson({ spiffe_id: ID, claims: null })]), `{"spiffe_id":"${ID}"}\n`);
  });
});
