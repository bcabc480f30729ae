/**
 * Linkerd's Certify end to end on `svid-agent issuer`: issues per second of the issuer's CPU,
 * over TLS 1.3 and gRPC on one connection, beside the node:crypto floor for the same work.
 *
 *   node --import tsx bench/certify.ts      (or: npm run bench:certify)
 *
 * The issuer runs in this process, started by `startIssuerServer` as `svid-agent issuer` starts
 * it, with the Kubernetes API stubbed (every TokenReview answers at once: authenticated, the
 * audience asked for, bound to a pod). A child process (bench/certify-client.ts) connects as a
 * Linkerd proxy does and keeps 64 calls in flight, each with a token of its own (so no review
 * comes from the cache) and a CSR of its own for a fresh P-256 key, both made beforehand. This
 * process's CPU time (all its threads) over the timed window divided into the certificates issued
 * is the cost per issue on one core, whatever else the machine is doing.
 *
 * The floor, per issue, in raw node:crypto on keys and payloads made beforehand: import the CSR's
 * public key, verify a CSR-sized signature with it, and sign a leaf-TBS-sized payload with the
 * issuer key. The import is the cheapest node:crypto offers for a P-256 key, a JWK of the point's
 * coordinates (what the issuer does too); the same floor with OpenSSL's SPKI DER decoder is printed
 * beside it. Measured the same way (CPU time of this process), in rounds alternating with the
 * Certify runs. Beside both, for reference, the transport alone: the same client against a
 * grpc-js server on the issuer's own TLS listener whose Certify answers at once with a fixed
 * response. Nothing is asserted; docs/performance.md has the figures and the goal.
 */
import { fork } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type sendUnaryData } from '@grpc/grpc-js';
import type { V1SelfSubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import type { KubeApi } from '../src/attestor/kubernetes.js';
import {
  createIssuerCa,
  createTrustAnchor,
  issueServerCertificate,
  loadIssuer,
  loadTrustAnchors,
  newKeyPair,
} from '../src/issuer/index.js';
import { silentLogger } from '../src/log.js';
import { linkerdIdentityDefinition } from '../src/protos.js';
import { type IssuerServerConfig, listenForNodes, startIssuerServer } from '../src/server/index.js';
import type { ClientOrder, ClientReport } from './certify-client.js';

const ROUNDS = 3;
const WARMUP_MS = 1_000;
const RUN_MS = 4_000;
const FLOOR_MS = 2_000;
/** Calls in flight: enough to keep the issuer busy (with 16 its CPU use was 79-92 %). */
const CONCURRENCY = 64;
/** CSRs made per run, each for a fresh key: more than a run's calls, so that none repeats. */
const POOL = 16_000;
const GOAL = 0.5;
const IDENTITY = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const SERVER_NAME = 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local';
const POD_UID = '3f6c1e2a-9b7d-4c5e-8a1f-0d2b4c6e8a10';

/** CPU seconds this process has used (user + system, every thread). */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Every TokenReview authenticated for the audience asked, as a pod-bound service-account token. */
const stubApi: KubeApi = {
  async createTokenReview(review: V1TokenReview): Promise<V1TokenReview> {
    return {
      ...review,
      status: {
        authenticated: true,
        audiences: review.spec.audiences ?? [],
        user: {
          username: 'system:serviceaccount:emojivoto:web',
          uid: POD_UID,
          groups: ['system:serviceaccounts', 'system:serviceaccounts:emojivoto', 'system:authenticated'],
          extra: {
            'authentication.kubernetes.io/pod-uid': [POD_UID],
            'authentication.kubernetes.io/pod-name': ['web-5d8f7c9b6-x2x7q'],
          },
        },
      },
    };
  },
  async createSelfSubjectAccessReview(review: V1SelfSubjectAccessReview): Promise<V1SelfSubjectAccessReview> {
    return { ...review, status: { allowed: true } };
  },
  close() {},
};

/** The length of a DER certificate's TBSCertificate, header included (the bytes the issuer signs). */
function tbsLength(certificate: Buffer): number {
  const skipHeader = (at: number): number => {
    const first = certificate[at + 1] as number;
    return at + 2 + (first & 0x80 ? first & 0x7f : 0);
  };
  const tbsAt = skipHeader(0);
  const first = certificate[tbsAt + 1] as number;
  const lengthOctets = first & 0x80 ? first & 0x7f : 0;
  let length = lengthOctets === 0 ? first : 0;
  for (let i = 0; i < lengthOctets; i++) length = length * 256 + (certificate[tbsAt + 2 + i] as number);
  return 2 + lengthOctets + length;
}

/** One Certify run: the client's counts, this process's CPU seconds and the wall seconds between its start and done. */
async function certifyRun(
  port: number,
  anchors: string,
  pool: number,
): Promise<{ ok: number; failed: number; firstFailure: string | undefined; cpu: number; wall: number; leaf: Buffer; calls: number }> {
  const child = fork(fileURLToPath(new URL('./certify-client.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
  const order: ClientOrder = {
    port,
    anchors,
    serverName: SERVER_NAME,
    identity: IDENTITY,
    warmupMs: WARMUP_MS,
    runMs: RUN_MS,
    concurrency: CONCURRENCY,
    pool,
  };
  let cpu0 = 0;
  let wall0 = 0;
  return new Promise((resolve, reject) => {
    child.on('message', (report: ClientReport) => {
      if (report.event === 'start') {
        cpu0 = cpuSeconds();
        wall0 = performance.now();
      } else if (report.event === 'done') {
        const cpu = cpuSeconds() - cpu0;
        const wall = (performance.now() - wall0) / 1000;
        resolve({
          ok: report.ok,
          failed: report.failed,
          firstFailure: report.firstFailure,
          cpu,
          wall,
          leaf: Buffer.from(report.leaf ?? '', 'base64'),
          calls: report.calls,
        });
      }
    });
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`the client exited with ${code}`))));
    child.send(order);
  });
}

// === the transport alone: the same TLS listener and grpc-js, a handler that answers at once ===

/**
 * A grpc-js server for Linkerd's Identity service behind the issuer's own TLS listener
 * (`listenForNodes`, so TLS 1.3 and the no-ALPN handling are the issuer's), whose Certify answers
 * every call at once with one fixed response the size of a real one: what TLS, HTTP/2, gRPC and
 * protobuf cost per call before any work of ours. Not a floor the goal divides by; a reference.
 */
async function startBareCertify(issuerDir: string, anchorsPath: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const now = Date.now();
  const issuer = await loadIssuer(issuerDir, await loadTrustAnchors(anchorsPath, { now }), { now });
  const certificate = issueServerCertificate({ issuer, serverName: SERVER_NAME, now, lifetimeMs: 3_600_000, clockSkewMs: 0 });
  const leaf = issueServerCertificate({ issuer, serverName: IDENTITY, now, lifetimeMs: 3_600_000, clockSkewMs: 0 });
  const response = {
    leaf_certificate: new X509Certificate(leaf.chainPem).raw,
    intermediate_certificates: [issuer.chainDer[0]],
    valid_until: { seconds: Math.floor(leaf.notAfter / 1000), nanos: 0 },
  };
  const server = new Server();
  server.addService(linkerdIdentityDefinition(), {
    Certify: (_call: unknown, callback: sendUnaryData<typeof response>) => callback(null, response),
  });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = await listenForNodes({ address: '127.0.0.1:0', certificate, injector, logger: silentLogger() });
  return {
    port: listener.port,
    async stop() {
      await listener.close(0);
      injector.destroy();
      server.forceShutdown();
    },
  };
}

// === the floor: public-key import + verify + sign, per issue ===

const issuerKeyForFloor = { key: newKeyPair('ec', { namedCurve: 'P-256' }).privateKey };
/** A CSR's CertificationRequestInfo is about this long for a proxy's CSR (one DNS SAN, a CN). */
const CSR_INFO_BYTES = 300;
const floorInputs = Array.from({ length: 2_000 }, () => {
  const { privateKey, publicKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  const info = randomBytes(CSR_INFO_BYTES);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The uncompressed point is the last 64 bytes of a P-256 SPKI.
  const x = spki.subarray(-64, -32).toString('base64url');
  const y = spki.subarray(-32).toString('base64url');
  return { spki, jwk: { kty: 'EC', crv: 'P-256', x, y }, info, signature: sign('sha256', info, privateKey) };
});

/** Floor operations per CPU second, importing each key as a JWK, or with `der` from its SPKI. */
function floorRun(leafTbsBytes: number, import_: 'jwk' | 'der'): { ops: number; cpu: number } {
  const tbs = randomBytes(leafTbsBytes);
  const issuerKey = createPrivateKey(issuerKeyForFloor.key.export({ type: 'pkcs8', format: 'pem' }));
  let ops = 0;
  const cpu0 = cpuSeconds();
  const stop = performance.now() + FLOOR_MS;
  while (performance.now() < stop) {
    const input = floorInputs[ops % floorInputs.length] as (typeof floorInputs)[number];
    const key =
      import_ === 'jwk'
        ? createPublicKey({ key: input.jwk, format: 'jwk' })
        : createPublicKey({ key: input.spki, format: 'der', type: 'spki' });
    if (!verify('sha256', input.info, key, input.signature)) throw new Error('floor signature does not verify');
    sign('sha256', tbs, issuerKey);
    ops++;
  }
  return { ops, cpu: cpuSeconds() - cpu0 };
}

// === run ===

const dir = await mkdtemp(join(tmpdir(), 'bench-certify-'));
const anchor = createTrustAnchor();
const issuerCa = createIssuerCa({ anchor });
await writeFile(join(dir, 'ca-bundle.crt'), anchor.certificatePem);
await writeFile(join(dir, 'tls.crt'), issuerCa.certificatePem);
await writeFile(join(dir, 'tls.key'), issuerCa.privateKeyPem, { mode: 0o600 });
const config: IssuerServerConfig = {
  listen: '127.0.0.1:0',
  plaintext: false,
  serverName: SERVER_NAME,
  trustDomain: 'cluster.local',
  trustAnchors: join(dir, 'ca-bundle.crt'),
  issuerDir: dir,
  jwtKey: undefined,
  jwtTtlMs: 300_000,
  identityDomain: 'identity.linkerd.cluster.local',
  svidTtlMs: 24 * 3_600_000,
  clockSkewMs: 20_000,
  kubeconfig: undefined,
  tokenAudience: 'identity.l5d.io',
  agentAudience: 'svid-agent',
  agentServiceAccount: { namespace: 'svid-agent', name: 'svid-agent' },
  healthAddr: '',
  shutdownTimeoutMs: 2_000,
};
const issuer = await startIssuerServer(config, { logger: silentLogger(), kubeApi: stubApi });
const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');

const bare = await startBareCertify(dir, join(dir, 'ca-bundle.crt'));
const rounds: Array<{
  perCpu: number;
  perWall: number;
  utilisation: number;
  floorPerCpu: number;
  derFloorPerCpu: number;
  barePerCpu: number;
  ratio: number;
}> = [];
let leafTbs = 0;
try {
  for (let round = 0; round < ROUNDS; round++) {
    const run = await certifyRun(issuer.port, anchor.certificatePem, POOL);
    if (run.failed > 0) throw new Error(`${run.failed} Certify calls failed, the first with ${run.firstFailure}`);
    if (run.calls > POOL) console.log(`note: round ${round + 1} made ${run.calls} calls, more than its ${POOL} CSRs: some were sent twice`);
    leafTbs = tbsLength(run.leaf);
    const floor = floorRun(leafTbs, 'jwk');
    const derFloor = floorRun(leafTbs, 'der');
    // The fixed answer reads no CSR: a few serve.
    const bareRun = await certifyRun(bare.port, anchor.certificatePem, 100);
    if (bareRun.failed > 0) throw new Error(`${bareRun.failed} calls to the bare server failed, the first with ${bareRun.firstFailure}`);
    const perCpu = run.ok / run.cpu;
    const floorPerCpu = floor.ops / floor.cpu;
    rounds.push({
      perCpu,
      perWall: run.ok / run.wall,
      utilisation: run.cpu / run.wall,
      floorPerCpu,
      derFloorPerCpu: derFloor.ops / derFloor.cpu,
      barePerCpu: bareRun.ok / bareRun.cpu,
      ratio: perCpu / floorPerCpu,
    });
  }
} finally {
  await bare.stop();
  await issuer.stop();
  await rm(dir, { recursive: true, force: true });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(8);
console.log(
  `node ${process.version}, openssl ${process.versions.openssl}; ${ROUNDS} rounds of Certify (${WARMUP_MS / 1000} s warm-up, ${RUN_MS / 1000} s timed, ${CONCURRENCY} in flight on one TLS connection) then the floor (${FLOOR_MS / 1000} s each import)`,
);
console.log(
  `leaf TBS ${leafTbs} B; load average before: ${loadBefore}, after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('');
console.log(
  '| round | Certify per CPU-s | Certify per s (wall) | issuer CPU use | floor per CPU-s | floor, DER import | transport alone per CPU-s | ratio |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [i, r] of rounds.entries()) {
  console.log(
    `| ${i + 1} | ${fmt(r.perCpu)} | ${fmt(r.perWall)} | ${(r.utilisation * 100).toFixed(0).padStart(4)} % | ${fmt(r.floorPerCpu)} | ${fmt(r.derFloorPerCpu)} | ${fmt(r.barePerCpu)} | ${r.ratio.toFixed(2)} |`,
  );
}
const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
const median = ratios[Math.floor(ratios.length / 2)] as number;
console.log('');
console.log(`ratio Certify / floor, median of ${ROUNDS} rounds: ${median.toFixed(2)} (goal >= ${GOAL.toFixed(2)})`);
const us = (perSecond: number): string => (1e6 / perSecond).toFixed(0);
const mid = <T>(values: T[], key: (v: T) => number): number =>
  values.map(key).sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
console.log(
  `per issue, medians: Certify ${us(mid(rounds, (r) => r.perCpu))} µs of CPU; the floor's crypto ${us(mid(rounds, (r) => r.floorPerCpu))} µs; ` +
    `TLS + HTTP/2 + gRPC + protobuf alone (the transport reference) ${us(mid(rounds, (r) => r.barePerCpu))} µs`,
);
