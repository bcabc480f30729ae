/**
 * Live credentials (issue 5): the issuer Secret and the trust-anchor ConfigMap rotate under open
 * streams, written the way kubelet writes mounted volumes (`..data` symlink swap).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestDir, type StartedAgent, startAgentIn } from './support/agent-harness.js';
import { writeAtomically } from './support/atomic-writer.js';
import { type ChildEvent, firstSvid, type RunningChild, startChild } from './support/child.js';
import { createTestCa, createTestIntermediate, createTestRoot, type TestCa, type TestCert } from './support/test-ca.js';

function leafIssuerOf(e: ChildEvent): string {
  return new X509Certificate(firstSvid(e).x509_svid).issuer;
}

/** The bundle a data event of either stream type carries (concatenated DER). */
function bundleOf(e: ChildEvent): Buffer {
  return e.message?.svids
    ? firstSvid(e).bundle
    : Buffer.from(Object.values((e.message?.bundles ?? {}) as Record<string, string>)[0] ?? '', 'base64');
}

function bundleCount(e: ChildEvent): number {
  const der = bundleOf(e);
  let n = 0;
  for (let off = 0; off < der.length; n++) off += 4 + der.readUInt16BE(off + 2);
  return n;
}

const issuerFiles = (cert: TestCert, key = cert.privateKeyPem) => ({ 'tls.crt': cert.pem, 'tls.key': key });

describe('issuer and trust-anchor reload', () => {
  let ca: TestCa;
  let agent: StartedAgent;
  let stream: RunningChild;
  let bundles: RunningChild;
  let secretDir: string;
  let configMapDir: string;
  const dataEvents = (c: RunningChild) => c.events.filter((e) => e.event === 'data');

  before(async () => {
    ca = await createTestCa();
    const dir = await makeTestDir();
    secretDir = join(dir, 'issuer');
    configMapDir = join(dir, 'roots');
    await writeAtomically(secretDir, issuerFiles(ca.intermediate));
    await writeAtomically(configMapDir, { 'ca-bundle.crt': ca.root.pem });
    // Metrics on (a listener on a free port): one test reads them.
    agent = await startAgentIn(dir, { issuerDir: secretDir, trustAnchors: join(configMapDir, 'ca-bundle.crt'), healthAddr: '127.0.0.1:0' });
    stream = startChild(['--socket', agent.socketPath, '--count', '1000', '--timeout', '120000']);
    bundles = startChild(['--socket', agent.socketPath, '--method', 'FetchX509Bundles', '--count', '1000', '--timeout', '120000']);
    await stream.waitFor((e) => e.event === 'data');
    await bundles.waitFor((e) => e.event === 'data');
  });
  after(async () => {
    stream.process.kill();
    bundles.process.kill();
    await agent.close();
  });

  test('a ..data swap to a new issuer reaches open streams', async () => {
    const next = await createTestIntermediate({ parent: ca.root, commonName: 'Issuer Two' });
    await writeAtomically(secretDir, issuerFiles(next));
    const e = await stream.waitFor((ev) => ev.event === 'data' && leafIssuerOf(ev) === 'CN=Issuer Two');
    assert.ok(e);
    assert.ok(agent.log.entries.some((l) => l.msg === 'issuer updated'));
  });

  test('broken issuers are refused with the reason logged; the old issuer stays; a later good one is taken', async () => {
    const wrongKey = (await createTestRoot()).privateKeyPem;
    const broken: Array<[string, Record<string, string>, RegExp]> = [
      ['wrong key', issuerFiles(ca.intermediate, wrongKey), /does not match/],
      ['not a CA', issuerFiles(ca.nonCa), /is not a CA/],
      ['foreign root', issuerFiles(ca.foreignIssuer), /does not chain to the trust anchors/],
      ['expired', issuerFiles(ca.expiredIssuer), /expired at/],
    ];
    for (const [name, files, reason] of broken) {
      const before = agent.log.entries.length;
      await writeAtomically(secretDir, files);
      await agent.running.reloadCredentials();
      const refusal = agent.log.entries.slice(before).find((l) => l.msg === 'issuer update refused; keeping the current issuer');
      assert.ok(refusal, `${name}: refusal logged`);
      assert.match(String(refusal.error), reason, name);
    }
    // The stream still holds an SVID of Issuer Two; a good swap is still picked up.
    const third = await createTestIntermediate({ parent: ca.root, commonName: 'Issuer Three' });
    await writeAtomically(secretDir, issuerFiles(third));
    await stream.waitFor((ev) => ev.event === 'data' && leafIssuerOf(ev) === 'CN=Issuer Three');
    assert.ok(dataEvents(stream).every((e) => /Issuer (CA|Two|Three)|Test Issuer/.test(leafIssuerOf(e))));
  });

  test('a plain rewrite of the issuer files is picked up too', async () => {
    const fourth = await createTestIntermediate({ parent: ca.root, commonName: 'Issuer Four' });
    // Outside Kubernetes: plain files replaced by the usual write-then-rename.
    for (const [name, content] of Object.entries(issuerFiles(fourth))) {
      await writeFile(join(secretDir, `${name}.tmp`), content);
      await rename(join(secretDir, `${name}.tmp`), join(secretDir, name));
    }
    await stream.waitFor((ev) => ev.event === 'data' && leafIssuerOf(ev) === 'CN=Issuer Four');
  });

  test('a second root reaches both stream types with both roots', async () => {
    const second = await createTestRoot({ commonName: 'Second Root' });
    await writeAtomically(configMapDir, { 'ca-bundle.crt': ca.root.pem + second.pem });
    await stream.waitFor((e) => e.event === 'data' && bundleCount(e) === 2);
    await bundles.waitFor((e) => e.event === 'data' && bundleCount(e) === 2);
    assert.ok(agent.log.entries.some((l) => l.msg === 'trust anchors updated'));
  });

  test("anchors that drop the issuer's root are served but reported loudly", async () => {
    const other = await createTestRoot({ commonName: 'Only Other Root' });
    await writeAtomically(configMapDir, { 'ca-bundle.crt': other.pem });
    await agent.running.reloadCredentials();
    assert.equal(agent.running.issuerChainsToAnchors.get(), false);
    assert.match(await agent.running.metrics.render(), /^svid_agent_issuer_chains_to_anchors 0$/m);
    assert.match(await agent.running.metrics.render(), /^svid_agent_ready 0$/m);
    assert.ok(agent.log.entries.some((l) => l.msg === 'issuer no longer chains to the trust anchors' && l.level === 'error'));
    await writeAtomically(configMapDir, { 'ca-bundle.crt': ca.root.pem });
    await agent.running.reloadCredentials();
    // The root itself, not a count: the push of the other root before it also held one.
    await bundles.waitFor((e) => e.event === 'data' && bundleOf(e).equals(ca.root.der) && e === dataEvents(bundles).at(-1));
  });
});
