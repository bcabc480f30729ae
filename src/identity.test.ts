import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accountFromName,
  controlPlaneNamespaceOf,
  defaultIssuerServerName,
  dnsNameFor,
  isDns1123Label,
  parseSpiffeId,
  spiffeIdFor,
  workloadIdentityFor,
} from './identity.js';

const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const web = { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' };

test('names an account in both forms', () => {
  assert.equal(spiffeIdFor(web, naming), 'spiffe://cluster.local/ns/emojivoto/sa/web');
  assert.equal(dnsNameFor(web, naming), 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local');
  assert.deepEqual(workloadIdentityFor(web, naming).account, web);
});

test('reads both forms back', () => {
  assert.deepEqual(accountFromName('spiffe://cluster.local/ns/emojivoto/sa/web', naming), web);
  assert.deepEqual(accountFromName('web.emojivoto.serviceaccount.identity.linkerd.cluster.local', naming), web);
  for (const other of [
    'spiffe://other.domain/ns/emojivoto/sa/web',
    'spiffe://cluster.local/ns/emojivoto',
    'spiffe://cluster.local/ns/Emoji/sa/web',
    'web.emojivoto.identity.linkerd.cluster.local',
    'web.emojivoto.serviceaccount.identity.other',
  ]) {
    assert.equal(accountFromName(other, naming), undefined, other);
  }
});

test('DNS-1123 labels', () => {
  for (const ok of ['a', 'web', 'kube-system', 'a1', '0abc', 'x'.repeat(63)]) assert.ok(isDns1123Label(ok), ok);
  for (const bad of ['', 'Web', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64), 'ü']) assert.ok(!isDns1123Label(bad), bad);
});

test('SPIFFE ID syntax', () => {
  assert.deepEqual(parseSpiffeId('spiffe://Example.org/a/b'), { trustDomain: 'example.org', path: '/a/b' });
  assert.deepEqual(parseSpiffeId('spiffe://example.org'), { trustDomain: 'example.org', path: '' });
  for (const bad of [
    'http://example.org/a',
    'spiffe:///a',
    'spiffe://example.org/',
    'spiffe://example.org//a',
    'spiffe://example.org/a/../b',
    'spiffe://example.org/a?x=1',
    'spiffe://ex ample.org/a',
    'spiffe://example.org/a b',
  ]) {
    assert.equal(typeof parseSpiffeId(bad), 'string', bad);
  }
});

test("the issuer's default server name is Linkerd's identity controller name in the identity domain's namespace", () => {
  assert.equal(
    defaultIssuerServerName('identity.linkerd.cluster.local'),
    'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local',
  );
  assert.equal(defaultIssuerServerName('identity.mesh.example.org'), 'linkerd-identity.mesh.serviceaccount.identity.mesh.example.org');
  assert.equal(controlPlaneNamespaceOf('identity.mesh.example.org'), 'mesh');
  for (const domain of ['identity.linkerd', 'mesh.example.org', 'identity..cluster.local', 'identity.Linkerd.cluster.local']) {
    assert.equal(defaultIssuerServerName(domain), undefined, domain);
  }
});
