/**
 * Trust-anchor bundles as Linkerd reads them (issue 9), through the real agent: an expired root
 * and a non-CA certificate next to the real root are skipped with one warning each and the
 * agent serves the one usable root; a bundle of only unusable certificates is refused with a
 * message saying so, at start and on reload. The "issuer no longer chains" check follows the
 * issuer's own intermediates.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAgentError } from '../src/errors.js';
import { makeTestDir, type StartedAgent, startAgentIn } from './support/agent-harness.js';
import { writeAtomically } from './support/atomic-writer.js';
import { type ChildEvent, firstData, firstSvid, runChild } from './support/child.js';
import {
  createTestCa,
  createTestIntermediate,
  createTestRoot,
  EXPIRED_NOT_AFTER,
  EXPIRED_NOT_BEFORE,
  type TestCa,
  type TestCert,
} from './support/test-ca.js';

const SKIPPED = 'trust anchor skipped';

/** The `spiffe://cluster.local` bundle of a FetchX509Bundles data event. */
function bundleOf(e: ChildEvent | undefined): Buffer {
  const bundles = (e?.message?.bundles ?? {}) as Record<string, string>;
  return Buffer.from(bundles['spiffe://cluster.local'] ?? '', 'base64');
}

async function fetchBundle(agent: StartedAgent): Promise<Buffer> {
  return bundleOf(firstData(await runChild(['--socket', agent.socketPath, '--method', 'FetchX509Bundles'])));
}

/** Credentials laid out as the kubelet mounts them; the issuer file may carry a further intermediate. */
async function layOut(issuerPem: string, issuerKeyPem: string, bundlePem: string) {
  const dir = await makeTestDir();
  const issuerDir = join(dir, 'issuer');
  const rootsDir = join(dir, 'roots');
  await writeAtomically(issuerDir, { 'tls.crt': issuerPem, 'tls.key': issuerKeyPem });
  await writeAtomically(rootsDir, { 'ca-bundle.crt': bundlePem });
  return { dir, issuerDir, rootsDir, overrides: { issuerDir, trustAnchors: join(rootsDir, 'ca-bundle.crt') } };
}

describe('a bundle with an expired root, a non-CA certificate and the real root', () => {
  let ca: TestCa;
  let oldRoot: TestCert;
  let agent: StartedAgent;
  let rootsDir: string;

  before(async () => {
    ca = await createTestCa();
    oldRoot = await createTestRoot({ commonName: 'Old Root', notBefore: EXPIRED_NOT_BEFORE, notAfter: EXPIRED_NOT_AFTER });
    const files = await layOut(ca.intermediate.pem, ca.intermediate.privateKeyPem, oldRoot.pem + ca.nonCa.pem + ca.root.pem);
    rootsDir = files.rootsDir;
    agent = await startAgentIn(files.dir, files.overrides);
  });
  after(() => agent.close());

  test('the agent starts, warns once for each unusable certificate, and serves the one root', async () => {
    const warnings = agent.log.entries.filter((e) => e.msg === SKIPPED);
    assert.deepEqual(
      warnings.map((w) => [w.level, w.certificate, w.subject, w.reason]),
      [
        ['warn', 1, 'CN=Old Root', 'expired at Jan  1 00:00:00 2021 GMT'],
        ['warn', 2, 'CN=Test Not A CA', 'is not a CA'],
      ],
    );
    assert.ok((await fetchBundle(agent)).equals(ca.root.der), 'FetchX509Bundles carries only the real root');
    const svid = firstSvid(firstData(await runChild(['--socket', agent.socketPath])));
    assert.ok(svid.bundle.equals(ca.root.der), 'FetchX509SVID carries only the real root');
  });

  test('on reload: the same kind of bundle is taken with its warnings; one with no usable root is refused', async () => {
    const second = await createTestRoot({ commonName: 'Second Root' });
    let mark = agent.log.entries.length;
    await writeAtomically(rootsDir, { 'ca-bundle.crt': oldRoot.pem + ca.root.pem + ca.nonCa.pem + second.pem });
    await agent.running.reloadCredentials();
    let fresh = agent.log.entries.slice(mark);
    assert.deepEqual(
      fresh.filter((e) => e.msg === SKIPPED).map((w) => [w.certificate, w.subject]),
      [
        [1, 'CN=Old Root'],
        [3, 'CN=Test Not A CA'],
      ],
    );
    assert.ok(fresh.some((e) => e.msg === 'trust anchors updated' && e.count === 2));
    assert.ok((await fetchBundle(agent)).equals(Buffer.concat([ca.root.der, second.der])));

    mark = agent.log.entries.length;
    await writeAtomically(rootsDir, { 'ca-bundle.crt': oldRoot.pem + ca.nonCa.pem });
    await agent.running.reloadCredentials();
    fresh = agent.log.entries.slice(mark);
    const refusal = fresh.find((e) => e.msg === 'trust anchors update refused; keeping the current ones');
    assert.ok(refusal, 'the refusal is logged');
    assert.match(
      String(refusal.error),
      /hold no usable root: certificate #1 \(CN=Old Root\) expired at .*; certificate #2 \(CN=Test Not A CA\) is not a CA/,
    );
    assert.equal(fresh.filter((e) => e.msg === SKIPPED).length, 0, 'a refused bundle is reported once, in the refusal');
    assert.ok((await fetchBundle(agent)).equals(Buffer.concat([ca.root.der, second.der])), 'the current roots stay');
  });
});

test('a bundle of only unusable certificates is refused at start with a message saying so', async () => {
  const ca = await createTestCa();
  const oldRoot = await createTestRoot({ commonName: 'Old Root', notBefore: EXPIRED_NOT_BEFORE, notAfter: EXPIRED_NOT_AFTER });
  const files = await layOut(ca.intermediate.pem, ca.intermediate.privateKeyPem, oldRoot.pem + ca.nonCa.pem);
  await assert.rejects(startAgentIn(files.dir, files.overrides), (err: unknown) => {
    assert.ok(isAgentError(err, 'CREDENTIALS_INVALID'), String(err));
    assert.match(err.message, /^trust anchors .*ca-bundle\.crt hold no usable root: certificate #1 \(CN=Old Root\) expired at /);
    assert.match(err.message, /certificate #2 \(CN=Test Not A CA\) is not a CA \(a bundle needs at least one current CA certificate\)$/);
    return true;
  });
});

test('an issuer under a further intermediate still chains after an anchor reload (no false alarm)', async () => {
  const ca = await createTestCa();
  const mid = await createTestIntermediate({ parent: ca.root, commonName: 'Mid CA', pathLength: 1 });
  const issuer = await createTestIntermediate({ parent: mid, commonName: 'Deep Issuer' });
  const files = await layOut(issuer.pem + mid.pem, issuer.privateKeyPem, ca.root.pem);
  const agent = await startAgentIn(files.dir, files.overrides);
  try {
    const second = await createTestRoot({ commonName: 'Second Root' });
    await writeAtomically(files.rootsDir, { 'ca-bundle.crt': ca.root.pem + second.pem });
    await agent.running.reloadCredentials();
    assert.ok(agent.log.entries.some((e) => e.msg === 'trust anchors updated'));
    assert.equal(agent.running.issuerChainsToAnchors.get(), true);
    assert.ok(!agent.log.entries.some((e) => e.msg === 'issuer no longer chains to the trust anchors'));
  } finally {
    await agent.close();
  }
});
