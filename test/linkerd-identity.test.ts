/**
 * Linkerd's `Certify` served by `svid-agent issuer` (docs/linkerd-identity.md) over its real
 * port, to a client that connects as a Linkerd proxy does (test/support/proxy-client.ts: TLS 1.3,
 * SNI, no ALPN, the server verified against the trust anchors alone, HTTP/2 by prior knowledge),
 * against the strict fake Kubernetes API. Linkerd's own cases (linkerd2
 * `pkg/identity/service_test.go`, `pkg/tls/ca_test.go`) as far as a running issuer can meet them,
 * the whole status table, our stricter checks, an `h2`-ALPN client on the same port, and h2c on
 * loopback.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { credentials, makeGenericClientConstructor, type ServiceError, status } from '@grpc/grpc-js';
import { createCsr, newKeyPair } from '../src/issuer/index.js';
import { linkerdIdentityDefinition } from '../src/protos.js';
import type { RunningIssuer } from '../src/server/index.js';
import { type CentralWorld, createCentralWorld, SERVER_NAME } from './support/central-issuer.js';
import { captureLogger } from './support/log-capture.js';
import {
  connectLikeProxy,
  type ProxyCallResult,
  type ProxyCertifyRequest,
  type ProxyClient,
  type ProxyClientOptions,
} from './support/proxy-client.js';
import { assertLinkerdSans } from './support/san-order.js';
import { createTestCa, TEST_NOT_AFTER } from './support/test-ca.js';

const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const SPIFFE = 'spiffe://cluster.local/ns/emojivoto/sa/web';
const HOUR = 3_600_000;

/** A CSR as the proxy's identity documents hold it (linkerd2 `proxy-identity`): CN and one DNS SAN. */
function proxyCsr(name = DNS, o: { dnsNames?: string[] } = {}): Buffer {
  const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  return createCsr({ privateKey, commonName: name, dnsNames: o.dnsNames ?? [name] });
}

/** One Certify on a connection of its own, for `emojivoto/web` on n1 with a fresh CSR. */
async function certifyOnce(world: CentralWorld, options: ProxyClientOptions): Promise<ProxyCallResult> {
  const proxy = await connectLikeProxy(options);
  try {
    return await proxy.certify({ identity: DNS, token: await podToken(world), certificate_signing_request: proxyCsr() });
  } finally {
    proxy.close();
  }
}

/** A pod's projected token for `identity.l5d.io` (audience, pod and node as the kubelet mints it). */
async function podToken(world: CentralWorld, o: { ns?: string; sa?: string; node?: string | undefined } = {}): Promise<string> {
  return (await world.workload('node' in o ? o.node : 'n1', { ns: o.ns ?? 'emojivoto', sa: o.sa ?? 'web' })).evidence.token;
}

describe('Certify on the issuer port, to a client that connects as a Linkerd proxy', () => {
  let world: CentralWorld;
  let issuer: RunningIssuer;
  let proxy: ProxyClient;
  const log = captureLogger('debug');

  before(async () => {
    world = await createCentralWorld();
    issuer = await world.start({ svidTtlMs: 24 * HOUR }, log.logger);
    proxy = await connectLikeProxy({ port: issuer.port, anchors: world.ca.root.pem, serverName: SERVER_NAME });
  });
  after(async () => {
    proxy.close();
    await world.close();
  });

  test('no ALPN, TLS 1.3, the issuer verified by its name against the trust anchors alone; the leaf names the identity first', async () => {
    assert.equal(proxy.alpn, false, 'the proxy offers no ALPN, and the server picks none');
    assert.equal(proxy.tlsVersion, 'TLSv1.3');
    assert.match(String(proxy.serverLeaf?.subjectaltname), new RegExp(`^DNS:${SERVER_NAME.replaceAll('.', '\\.')}`));
    const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
    const csr = createCsr({ privateKey, commonName: DNS, dnsNames: [DNS] });
    const { code, message, response } = await proxy.certify({
      identity: DNS,
      token: await podToken(world),
      certificate_signing_request: csr,
    });
    assert.equal(code, status.OK, message);
    assert.ok(response);
    assertLinkerdSans(response.leaf_certificate, { dnsName: DNS, spiffeId: SPIFFE });
    const leaf = new X509Certificate(response.leaf_certificate);
    assert.ok(leaf.verify(world.ca.intermediate.publicKey), 'signed by the issuer in use');
    assert.deepEqual(response.intermediate_certificates, [world.ca.intermediate.der]);
    assert.ok(leaf.checkPrivateKey(privateKey), "the leaf certifies the CSR's key");
    // ca_test.go "issuer cert expires after end cert": now + lifetime + skew, backdated by the skew.
    assert.equal(Date.parse(leaf.validTo), world.now + 24 * HOUR + 20_000 - ((world.now + 20_000) % 1000));
    assert.equal(Number(response.valid_until?.seconds) * 1000, Date.parse(leaf.validTo));
  });

  test('the node rule does not apply: a pod on any node, or whose token names no node, gets its own identity', async () => {
    for (const node of ['n2', undefined]) {
      const token = await podToken(world, { node });
      const { code, message } = await proxy.certify({ identity: DNS, token, certificate_signing_request: proxyCsr() });
      assert.equal(code, status.OK, `node ${node}: ${message}`);
    }
  });

  test('the SPIFFE form: the CSR names are ignored, the leaf has both names', async () => {
    const csr = proxyCsr('anything.example');
    const { code, message, response } = await proxy.certify({
      identity: SPIFFE,
      token: await podToken(world),
      certificate_signing_request: csr,
    });
    assert.equal(code, status.OK, message);
    assertLinkerdSans(response?.leaf_certificate as Buffer, { dnsName: DNS, spiffeId: SPIFFE });
  });

  test("Linkerd's status table over the proxy's transport, with our stricter rows", async () => {
    const good = await podToken(world);
    const badSignature = proxyCsr();
    badSignature.writeUInt8((badSignature.at(-5) as number) ^ 0xff, badSignature.length - 5);
    const fake = Buffer.from('fake-data');
    const cases: Array<{ name: string; request: () => Promise<ProxyCertifyRequest>; code: status; message: RegExp }> = [
      // service_test.go TestInvalidRequestArguments
      {
        name: 'reqNoIdentity',
        request: async () => ({ identity: '', token: fake, certificate_signing_request: fake }),
        code: status.INVALID_ARGUMENT,
        message: /^missing identity$/,
      },
      {
        name: 'reqNoToken',
        request: async () => ({ identity: 'fake-data', token: '', certificate_signing_request: fake }),
        code: status.INVALID_ARGUMENT,
        message: /^missing token$/,
      },
      {
        name: 'reqNoCsr',
        request: async () => ({ identity: 'fake-data', token: fake, certificate_signing_request: Buffer.alloc(0) }),
        code: status.INVALID_ARGUMENT,
        message: /^missing certificate signing request$/,
      },
      {
        name: 'invalidCsr()',
        request: async () => ({ identity: 'fake-data', token: fake, certificate_signing_request: fake }),
        code: status.INVALID_ARGUMENT,
        message: /^certificate signing request does not parse$/,
      },
      // checkCSR
      {
        name: 'two DNS names',
        request: async () => ({ identity: DNS, token: good, certificate_signing_request: proxyCsr(DNS, { dnsNames: [DNS, 'x.example'] }) }),
        code: status.FAILED_PRECONDITION,
        message: /^CSR must have exactly one DNSName$/,
      },
      {
        name: 'CSR for another name',
        request: async () => ({
          identity: DNS,
          token: good,
          certificate_signing_request: proxyCsr('admin.emojivoto.serviceaccount.identity.linkerd.cluster.local'),
        }),
        code: status.FAILED_PRECONDITION,
        message: /^CSR name does not match requested identity/,
      },
      {
        name: 'CSR signature does not verify (we check it; Linkerd does not)',
        request: async () => ({ identity: DNS, token: good, certificate_signing_request: badSignature }),
        code: status.FAILED_PRECONDITION,
        message: /^CSR signature does not verify$/,
      },
      // the validator
      {
        name: 'a token no authenticator recognises',
        request: async () => ({ identity: DNS, token: 'not-a-jwt', certificate_signing_request: proxyCsr() }),
        code: status.FAILED_PRECONDITION,
        message: /^authentication token could not be authenticated$/,
      },
      {
        name: 'a token for the API server audience (Linkerd retries without an audience; we do not)',
        request: async () => ({
          identity: DNS,
          token: await world.fake.mintServiceAccountToken({
            namespace: 'emojivoto',
            serviceAccount: 'web',
            pod: { name: 'web-1', uid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d' },
          }),
          certificate_signing_request: proxyCsr(),
        }),
        code: status.INVALID_ARGUMENT,
        message: /^tokenreview reported an error for the token$/,
      },
      {
        name: 'a service-account token bound to no pod (stricter than Linkerd)',
        request: async () => ({
          identity: DNS,
          token: await world.fake.mintServiceAccountToken({
            namespace: 'emojivoto',
            serviceAccount: 'web',
            audiences: ['identity.l5d.io'],
          }),
          certificate_signing_request: proxyCsr(),
        }),
        code: status.INVALID_ARGUMENT,
        message: /^token is not bound to a pod: a projected service-account token is required$/,
      },
      {
        name: 'a user that is not system:TYPE:NS:SA',
        request: async () => ({
          identity: DNS,
          token: await world.fake.mintUserToken({ username: 'jane', audiences: ['identity.l5d.io'] }),
          certificate_signing_request: proxyCsr(),
        }),
        code: status.INVALID_ARGUMENT,
        message: /^token username is not system:<type>:<namespace>:<name>/,
      },
      {
        name: "another account's token",
        request: async () => ({ identity: DNS, token: await podToken(world, { sa: 'admin' }), certificate_signing_request: proxyCsr() }),
        code: status.FAILED_PRECONDITION,
        message: /^requested identity did not match provided token: requested=web\..*; found=admin\./,
      },
      {
        name: "the issuer's own name, even with its account's token (ours)",
        request: async () => ({
          identity: SERVER_NAME,
          token: await podToken(world, { ns: 'linkerd', sa: 'linkerd-identity' }),
          certificate_signing_request: proxyCsr(SERVER_NAME),
        }),
        code: status.PERMISSION_DENIED,
        message: /^the issuer does not sign its own server name for anyone else$/,
      },
    ];
    for (const c of cases) {
      const { code, message, response } = await proxy.certify(await c.request());
      assert.equal(status[code], status[c.code], `${c.name}: ${message}`);
      assert.match(message, c.message, c.name);
      assert.equal(response, undefined, c.name);
    }
  });

  test('an API server that fails is INTERNAL, and Certify works again once it is back', async () => {
    const token = await podToken(world);
    await world.fake.fail(500);
    try {
      const { code, message } = await proxy.certify({ identity: DNS, token, certificate_signing_request: proxyCsr() });
      assert.equal(code, status.INTERNAL);
      assert.equal(message, `error validating token for ${DNS}`);
    } finally {
      await world.fake.restore();
    }
    assert.equal((await proxy.certify({ identity: DNS, token, certificate_signing_request: proxyCsr() })).code, status.OK);
  });

  test('a client that offers h2 (grpc-js, as our agents) is served on the same port', async () => {
    const alpn = await connectLikeProxy({ port: issuer.port, anchors: world.ca.root.pem, serverName: SERVER_NAME, alpn: ['h2'] });
    try {
      assert.equal(alpn.alpn, 'h2');
      assert.equal(
        (await alpn.certify({ identity: DNS, token: await podToken(world), certificate_signing_request: proxyCsr() })).code,
        status.OK,
      );
    } finally {
      alpn.close();
    }
    const Client = makeGenericClientConstructor(linkerdIdentityDefinition(), 'Identity');
    const client = new Client(`127.0.0.1:${issuer.port}`, credentials.createSsl(Buffer.from(world.ca.root.pem)), {
      'grpc.ssl_target_name_override': SERVER_NAME,
      'grpc.default_authority': SERVER_NAME,
    });
    try {
      const request = { identity: DNS, token: Buffer.from(await podToken(world)), certificate_signing_request: proxyCsr() };
      const response = await new Promise<{ leaf_certificate: Buffer }>((resolve, reject) =>
        (client as unknown as Record<string, (r: object, cb: (e: ServiceError | null, r: unknown) => void) => void>).Certify?.call(
          client,
          request,
          (err, res) => (err ? reject(err) : resolve(res as { leaf_certificate: Buffer })),
        ),
      );
      assertLinkerdSans(response.leaf_certificate, { dnsName: DNS, spiffeId: SPIFFE });
    } finally {
      client.close();
    }
  });

  test('a proxy with other trust anchors, or expecting another name, does not complete the handshake', async () => {
    const other = await createTestCa('Other Root CA');
    await assert.rejects(connectLikeProxy({ port: issuer.port, anchors: other.root.pem, serverName: SERVER_NAME }));
    const elsewhere = 'linkerd-identity.other.serviceaccount.identity.other.cluster.local';
    await assert.rejects(connectLikeProxy({ port: issuer.port, anchors: world.ca.root.pem, serverName: elsewhere }), /altnames|Hostname/i);
  });

  test('Certify is counted by outcome and logged without the token', async () => {
    const text = await issuer.metrics.render();
    assert.match(text, /svid_issuer_certify_requests_total\{outcome="OK"\} [1-9]/);
    assert.match(text, /svid_issuer_certify_requests_total\{outcome="PERMISSION_DENIED"\} 1/);
    assert.match(text, /svid_issuer_certify_requests_total\{outcome="INTERNAL"\} 1/);
    const certified = log.entries.find((e) => e.msg === 'certified');
    assert.equal(certified?.identity, DNS);
    assert.ok(log.entries.some((e) => e.msg === 'certify refused' && e.code === 'FAILED_PRECONDITION'));
    assert.ok(log.entries.some((e) => e.msg === 'certify failed' && e.code === 'INTERNAL'));
    assert.doesNotMatch(log.text(), /eyJ/);
  });
});

describe("Linkerd's ca_test.go TestCaIssuesCertsWithCorrectExpiration, and h2c on loopback", () => {
  let world: CentralWorld;
  before(async () => {
    world = await createCentralWorld();
  });
  after(() => world.close());

  test('issuer cert expires before end cert: the leaf ends with the issuer chain', async () => {
    const issuer = await world.start({ svidTtlMs: 30 * 365 * 24 * HOUR });
    const { code, message, response } = await certifyOnce(world, {
      port: issuer.port,
      anchors: world.ca.root.pem,
      serverName: SERVER_NAME,
    });
    assert.equal(code, status.OK, message);
    assert.equal(Date.parse(new X509Certificate(response?.leaf_certificate as Buffer).validTo), TEST_NOT_AFTER);
  });

  test('a loopback address means h2c: --plaintext on 127.0.0.1 serves Certify without TLS', async () => {
    const issuer = await world.start({ plaintext: true });
    const { code, message, response } = await certifyOnce(world, { port: issuer.port, plaintext: true });
    assert.equal(code, status.OK, message);
    assertLinkerdSans(response?.leaf_certificate as Buffer, { dnsName: DNS, spiffeId: SPIFFE });
    // service_test.go TestServiceNotReady: a running issuer always has one loaded; the case it
    // can meet is a chain that has expired, UNAVAILABLE before any TokenReview (docs/decisions.md).
    world.now = TEST_NOT_AFTER + HOUR;
    const expired = await certifyOnce(world, { port: issuer.port, plaintext: true });
    assert.equal(expired.code, status.UNAVAILABLE);
    assert.match(expired.message, /^cert issuer is not valid: its chain expired at /);
  });
});
