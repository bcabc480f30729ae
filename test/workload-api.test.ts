/**
 * The Workload API over a real socket with real child processes (issue 2): the header rule,
 * caller identification by SO_PEERCRED, the SVID profile checked by openssl, rotation on an
 * open stream, and the socket's life cycle.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { startTestAgent, type TestAgent } from './support/agent-harness.js';
import { finalStatus, firstData, firstSvid, runChild, startChild } from './support/child.js';
import { assertLinkerdSans } from './support/san-order.js';

function splitDer(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    // SEQUENCE with a long-form length: 0x30 0x82 hi lo (certificates are 256..65535 bytes)
    assert.equal(buf[off], 0x30);
    const lenBytes = (buf[off + 1] as number) & 0x7f;
    const len = buf.readUIntBE(off + 2, lenBytes);
    out.push(buf.subarray(off, off + 2 + lenBytes + len));
    off += 2 + lenBytes + len;
  }
  return out;
}

describe('workload api over the socket', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent();
  });
  after(() => agent.close());

  const args = (...more: string[]) => ['--socket', agent.socketPath, ...more];

  test('security header: missing, repeated or wrong is INVALID_ARGUMENT on every method', async () => {
    for (const header of ['none', 'twice', 'false']) {
      for (const method of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTSVID', 'FetchWITSVID']) {
        const st = finalStatus(await runChild(args('--method', method, '--header', header)));
        assert.equal(st.code, status.INVALID_ARGUMENT, `${method} ${header}`);
        assert.equal(st.details, 'security header missing from request');
      }
    }
  });

  test('the package-qualified path serves the same SVID stream under the same header rule', async () => {
    // Linkerd proxy v2.329-v2.330 call /spiffe.workloadapi.SpiffeWorkloadAPI/* (linkerd2 issue 14730).
    // The qualified stream stays open while a plain one joins: both hold the one identity.
    const qualified = startChild(args('--qualified', '--count', '2', '--timeout', '60000'));
    const viaQualified = firstSvid(await qualified.waitFor((e) => e.event === 'data'));
    const viaPlain = firstSvid(firstData(await runChild(args())));
    qualified.process.kill();
    assert.equal(viaQualified.spiffe_id, 'spiffe://cluster.local/ns/local/sa/root');
    assert.deepEqual(viaQualified.x509_svid, viaPlain.x509_svid, 'one identity, one shared SVID, whichever path');
    assert.deepEqual(viaQualified.x509_svid_key, viaPlain.x509_svid_key);
    for (const header of ['none', 'twice', 'false']) {
      for (const method of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTSVID']) {
        const st = finalStatus(await runChild(args('--qualified', '--method', method, '--header', header)));
        assert.deepEqual([st.code, st.details], [status.INVALID_ARGUMENT, 'security header missing from request'], `${method} ${header}`);
      }
    }
    const health = await runChild(
      args('--health', '--method', 'Check', '--header', 'none', '--request', '{"service":"spiffe.workloadapi.SpiffeWorkloadAPI"}'),
    );
    assert.deepEqual(health.find((e) => e.event === 'data')?.message, { status: 'SERVING' });
  });

  test('WIT methods are UNIMPLEMENTED', async () => {
    const st = finalStatus(await runChild(args('--method', 'FetchWITSVID')));
    assert.equal(st.code, status.UNIMPLEMENTED);
  });

  test('health needs no header and reports SERVING', async () => {
    const events = await runChild(args('--health', '--method', 'Check', '--header', 'none'));
    assert.deepEqual(events.find((e) => e.event === 'data')?.message, { status: 'SERVING' });
  });

  test('a child process is identified by its own pid and uid', async () => {
    const child = startChild(args());
    const ready = await child.waitFor((e) => e.event === 'ready');
    const data = await child.waitFor((e) => e.event === 'data');
    assert.equal(firstSvid(data).spiffe_id, 'spiffe://cluster.local/ns/local/sa/root');
    await child.done;
    const attested = agent.log.entries.find((e) => e.msg === 'attested caller' && e.pid === ready.pid);
    assert.ok(attested, 'the agent logged the child pid');
    assert.equal(attested.uid, 0);

    const nobody = await runChild(args(), { uid: 65534, gid: 65534 });
    assert.equal(firstSvid(firstData(nobody)).spiffe_id, 'spiffe://cluster.local/ns/local/sa/nobody');
  });

  test('the SVID verifies with openssl -x509_strict and follows the profile', async () => {
    const events = await runChild(args());
    const svid = firstSvid(firstData(events));
    const [leafDer, ...intermediates] = splitDer(svid.x509_svid);
    const leaf = new X509Certificate(leafDer as Buffer);
    const pem = (ders: Buffer[]) => ders.map((d) => new X509Certificate(d).toString()).join('');
    writeFileSync(join(agent.dir, 'leaf.pem'), leaf.toString());
    writeFileSync(join(agent.dir, 'chain.pem'), pem(intermediates));
    writeFileSync(join(agent.dir, 'bundle.pem'), pem(splitDer(svid.bundle)));
    const out = execFileSync('openssl', [
      'verify',
      '-x509_strict',
      '-CAfile',
      join(agent.dir, 'bundle.pem'),
      '-untrusted',
      join(agent.dir, 'chain.pem'),
      join(agent.dir, 'leaf.pem'),
    ]);
    assert.match(out.toString(), /leaf\.pem: OK/);

    assertLinkerdSans(leafDer as Buffer, {
      dnsName: 'root.local.serviceaccount.identity.linkerd.cluster.local',
      spiffeId: 'spiffe://cluster.local/ns/local/sa/root',
    });
    assert.equal(leaf.ca, false);
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(agent.dir, 'leaf.pem')]).toString();
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.doesNotMatch(text, /Certificate Sign|CRL Sign/);
    assert.match(text, /X509v3 Subject Alternative Name: critical/);
    assert.equal(intermediates[0]?.equals(agent.issuer.certificateDer), true, 'the issuer follows the leaf');

    const key = createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' });
    assert.ok(leaf.checkPrivateKey(key), 'PKCS#8 key matches the leaf');
    assert.equal(createPublicKey(key).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    // docs/certificates.md: a random serial of at least 64 bits (randomness itself is tested in serial.test.ts).
    assert.ok(leaf.serialNumber.replace(/^0+/, '').length >= 16, `serial ${leaf.serialNumber} has at least 64 bits`);
  });

  test('FetchX509Bundles streams the trust domain bundle', async () => {
    const events = await runChild(args('--method', 'FetchX509Bundles'));
    const bundles = events.find((e) => e.event === 'data')?.message?.bundles as Record<string, string>;
    assert.deepEqual(Object.keys(bundles), ['spiffe://cluster.local']);
    assert.ok(Buffer.from(bundles['spiffe://cluster.local'] as string, 'base64').equals(agent.anchor.certificateDer));
  });
});

describe('rotation', () => {
  test('a short-lived SVID rotates on an open stream with a new serial', async () => {
    const agent = await startTestAgent({ svidTtlMs: 2_000, clockSkewMs: 0, minRefreshMs: 300 });
    try {
      const events = await runChild(['--socket', agent.socketPath, '--count', '3', '--timeout', '15000']);
      const serials = events
        .filter((e) => e.event === 'data')
        .map((e) => new X509Certificate(splitDer(firstSvid(e).x509_svid)[0] as Buffer).serialNumber);
      assert.equal(serials.length, 3);
      assert.equal(new Set(serials).size, 3, 'every rotation has a new serial');
      assert.equal(finalStatus(events).code, 0);
    } finally {
      await agent.close();
    }
  });
});
