import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINKERD_IDENTITY_SERVICE, linkerdIdentityDefinition, NODE_ISSUER_SERVICE, nodeIssuerDefinition } from './protos.js';

test('the node service loads with its package-qualified method paths', () => {
  const definition = nodeIssuerDefinition();
  assert.equal(NODE_ISSUER_SERVICE, 'svidagent.node.v1.NodeIssuer');
  const paths = Object.fromEntries(Object.entries(definition).map(([name, method]) => [name, method.path]));
  assert.deepEqual(paths, {
    ReviewWorkload: '/svidagent.node.v1.NodeIssuer/ReviewWorkload',
    SignX509SVID: '/svidagent.node.v1.NodeIssuer/SignX509SVID',
    MintJWTSVID: '/svidagent.node.v1.NodeIssuer/MintJWTSVID',
    WatchBundles: '/svidagent.node.v1.NodeIssuer/WatchBundles',
  });
  assert.equal(definition.WatchBundles?.responseStream, true);
  assert.equal(definition.SignX509SVID?.responseStream, false);
  assert.equal(nodeIssuerDefinition(), definition, 'loaded once');
});

test('node service messages round-trip with bytes as Buffers and int64 as strings', () => {
  const sign = nodeIssuerDefinition().SignX509SVID;
  assert.ok(sign);
  const request = {
    csr: Buffer.from([1, 2]),
    workload: { token: 't', pod_uid: 'u' },
    renewal: { ticket: Buffer.from([3]), certificate: Buffer.from([4]), signature: Buffer.from([5]) },
  };
  const decoded = sign.requestDeserialize(sign.requestSerialize(request)) as typeof request;
  assert.deepEqual(decoded, request);
  const response = sign.responseDeserialize(
    sign.responseSerialize({ leaf: Buffer.from([6]), not_after_unix_ms: 1_700_000_000_000 }),
  ) as Record<string, unknown>;
  assert.equal(response.not_after_unix_ms, '1700000000000');
  assert.deepEqual(response.intermediates, []);
  assert.deepEqual(response.ticket, Buffer.alloc(0));
});

test("Linkerd's Certify loads under its own path; the Timestamp and the DER bytes round-trip", () => {
  const certify = linkerdIdentityDefinition().Certify;
  assert.ok(certify);
  assert.equal(LINKERD_IDENTITY_SERVICE, 'io.linkerd.proxy.identity.Identity');
  assert.equal(certify.path, '/io.linkerd.proxy.identity.Identity/Certify');
  const request = {
    identity: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local',
    token: Buffer.from('t'),
    certificate_signing_request: Buffer.from([1]),
  };
  assert.deepEqual(certify.requestDeserialize(certify.requestSerialize(request)), request);
  const response = certify.responseDeserialize(
    certify.responseSerialize({
      leaf_certificate: Buffer.from([2]),
      intermediate_certificates: [Buffer.from([3])],
      valid_until: { seconds: 1_700_000_000, nanos: 5 },
    }),
  ) as Record<string, unknown>;
  assert.deepEqual(response, {
    leaf_certificate: Buffer.from([2]),
    intermediate_certificates: [Buffer.from([3])],
    valid_until: { seconds: '1700000000', nanos: 5 },
  });
});
