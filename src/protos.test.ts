import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NODE_ISSUER_SERVICE, nodeIssuerDefinition } from './protos.js';

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
