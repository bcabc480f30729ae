/**
 * The names on agent-issued leaves, read the way a Linkerd proxy reads them (issue 9): the
 * DNS-form identity is the first SAN and exactly one URI SAN follows, and the identity domain
 * follows `--trust-domain`. Real `svid-agent run --dev` processes, fetched from over the socket
 * with `api fetch x509 --write`. (Kubernetes mode: test/k8s-attestation.test.ts; Certify:
 * src/issuer/certify.test.ts and test/certify-tokenreview.test.ts.)
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestDir } from './support/agent-harness.js';
import { type CliProcess, runCli, startCli } from './support/cli-process.js';
import { assertLinkerdSans, linkerdClientIdentity, subjectAltNames } from './support/san-order.js';
import { createTestIntermediate, createTestLeaf, createTestRoot } from './support/test-ca.js';

describe('the SAN-order helper reads certificates as Linkerd does', () => {
  test('it keeps certificate order, and the first DNS or URI name is the client identity', async () => {
    const root = await createTestRoot();
    const issuer = await createTestIntermediate({ parent: root });
    // createTestLeaf puts the URI first: the layout that made Linkerd policy deny our clients.
    const leaf = await createTestLeaf({ issuer, spiffeId: 'spiffe://td/ns/a/sa/b', dnsName: 'b.a.serviceaccount.identity.linkerd.td' });
    assert.deepEqual(subjectAltNames(leaf.der), [
      { type: 'uri', value: 'spiffe://td/ns/a/sa/b' },
      { type: 'dns', value: 'b.a.serviceaccount.identity.linkerd.td' },
    ]);
    assert.equal(new X509Certificate(leaf.der).subjectAltName, 'URI:spiffe://td/ns/a/sa/b, DNS:b.a.serviceaccount.identity.linkerd.td');
    assert.equal(linkerdClientIdentity(leaf.der), 'spiffe://td/ns/a/sa/b');
    assert.throws(
      () => assertLinkerdSans(leaf.der, { dnsName: 'b.a.serviceaccount.identity.linkerd.td', spiffeId: 'spiffe://td/ns/a/sa/b' }),
      /DNS-form name first/,
    );
    // A certificate without a SAN extension gives no identity.
    assert.deepEqual(subjectAltNames(root.der), []);
    assert.equal(linkerdClientIdentity(root.der), undefined);
  });
});

/** A `run --dev` agent in its own temp directory, as a separate process. */
async function startDevAgent(extraArgs: string[]): Promise<{ dir: string; socket: string; agent: CliProcess }> {
  const dir = await makeTestDir('svid-agent-names-');
  const agent = startCli(['run', '--dev', '--health-addr', '', ...extraArgs], { cwd: dir });
  await agent.waitFor(({ stderr }) => stderr.includes('listening on workload api socket'), 'the agent to serve');
  return { dir, socket: join(dir, '.svid-agent', 'agent.sock'), agent };
}

/** The leaf DER that `api fetch x509 --write` writes for the calling user (root in these tests). */
async function fetchLeaf(dev: { dir: string; socket: string }): Promise<Buffer> {
  const r = await runCli(['api', 'fetch', 'x509', '--socket', dev.socket, '--write', 'out'], { cwd: dev.dir });
  assert.equal(r.code, 0, r.stderr);
  return new X509Certificate(await readFile(join(dev.dir, 'out', 'svid.0.pem'))).raw;
}

for (const { title, args, trustDomain } of [
  { title: 'a dev agent with the default trust domain', args: [], trustDomain: 'cluster.local' },
  // The identity domain follows the trust domain (Linkerd's identity.<cp-ns>.<trust-domain>).
  {
    title: 'a dev agent with --trust-domain prod.example and no --identity-domain',
    args: ['--trust-domain', 'prod.example'],
    trustDomain: 'prod.example',
  },
]) {
  describe(title, () => {
    let dev: { dir: string; socket: string; agent: CliProcess };
    before(async () => {
      dev = await startDevAgent(args);
    });
    after(async () => {
      assert.equal(await dev.agent.stop('SIGTERM'), 0, dev.agent.stderr());
      await rm(dev.dir, { recursive: true, force: true });
    });

    test(`the first SAN is root.local.serviceaccount.identity.linkerd.${trustDomain}, then one URI SAN`, async () => {
      const leaf = await fetchLeaf(dev);
      assertLinkerdSans(leaf, {
        dnsName: `root.local.serviceaccount.identity.linkerd.${trustDomain}`,
        spiffeId: `spiffe://${trustDomain}/ns/local/sa/root`,
      });
    });
  });
}
