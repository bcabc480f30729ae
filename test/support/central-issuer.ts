/**
 * A world for central-issuer tests: the strict fake Kubernetes API and the issuers share one
 * manual clock (starting at the real time, so TLS clients accept the issuer's certificate); the
 * test CA's credentials are written to files as a Secret would mount them; agent and workload
 * tokens are minted bound to pods on named nodes.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJwtSigningKey } from '../../src/issuer/index.js';
import { silentLogger } from '../../src/log.js';
import { type IssuerServerConfig, type RunningIssuer, startIssuerServer } from '../../src/server/index.js';
import { type FakeKubeApi, startFakeKubeApi } from '../fakes/kube-api.js';
import { createTestCa, createTestIntermediate, type TestCa, type TestCert } from './test-ca.js';

/** The agent account and audience every test issuer expects. */
export const AGENT_NAMESPACE = 'svid-agent';
export const AGENT_ACCOUNT = 'svid-agent';
export const AGENT_AUDIENCE = 'svid-agent';
/** The default `--server-name` for trust domain cluster.local. */
export const SERVER_NAME = 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local';

/** A workload pod on a node, with its evidence for the node service. */
export interface TestWorkload {
  readonly uid: string;
  readonly evidence: { token: string; pod_uid: string };
}

/** Everything a central-issuer test needs. */
export interface CentralWorld {
  readonly fake: FakeKubeApi;
  readonly ca: TestCa;
  /** A JWT signing key file, for `jwtKey` (the default configuration has none). */
  readonly jwtKeyPath: string;
  /** ms since the epoch; tests move it forward. */
  now: number;
  readonly clock: { now(): number };
  /** The issuer configuration for this world, with `overrides`. */
  config(overrides?: Partial<IssuerServerConfig>): IssuerServerConfig;
  /** Replaces the issuer files with a new issuer under the same root (running issuers reload on `reloadCredentials`). */
  swapIssuer(): Promise<TestCert>;
  /** Stops a started issuer now (not again on `close`). */
  stop(issuer: RunningIssuer): Promise<void>;
  /** Starts an issuer (stopped by `close`). */
  start(overrides?: Partial<IssuerServerConfig>, logger?: Parameters<typeof startIssuerServer>[1]['logger']): Promise<RunningIssuer>;
  /** The projected token of the agent pod on `node` (audience `svid-agent`), or of another account/audience. */
  agentToken(node: string, o?: { namespace?: string; account?: string; audiences?: string[]; withoutNode?: boolean }): Promise<string>;
  /** A workload pod of `ns/sa` (default emojivoto/web) on `node`, its token for `identity.l5d.io`. */
  workload(node: string | undefined, o?: { ns?: string; sa?: string }): Promise<TestWorkload>;
  close(): Promise<void>;
}

/** Creates the world: a fake API, a test CA on disk. */
export async function createCentralWorld(): Promise<CentralWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'central-issuer-'));
  const ca = await createTestCa();
  await mkdir(join(dir, 'issuer'), { mode: 0o700 });
  await writeFile(join(dir, 'ca-bundle.crt'), ca.root.pem);
  await writeFile(join(dir, 'issuer', 'tls.crt'), ca.intermediate.pem);
  await writeFile(join(dir, 'issuer', 'tls.key'), ca.intermediate.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'jwt.key'), (await createJwtSigningKey()).privateKeyPem, { mode: 0o600 });
  const running: RunningIssuer[] = [];
  const world: CentralWorld = {
    fake: undefined as unknown as FakeKubeApi,
    ca,
    jwtKeyPath: join(dir, 'jwt.key'),
    now: Date.now(),
    clock: { now: () => world.now },
    config: (overrides = {}) => ({
      listen: '127.0.0.1:0',
      plaintext: false,
      serverName: SERVER_NAME,
      trustDomain: 'cluster.local',
      trustAnchors: join(dir, 'ca-bundle.crt'),
      issuerDir: join(dir, 'issuer'),
      jwtKey: undefined,
      jwtTtlMs: 300_000,
      identityDomain: 'identity.linkerd.cluster.local',
      svidTtlMs: 3_600_000,
      clockSkewMs: 20_000,
      kubeconfig: world.fake.kubeconfigPath,
      tokenAudience: 'identity.l5d.io',
      agentAudience: AGENT_AUDIENCE,
      agentServiceAccount: { namespace: AGENT_NAMESPACE, name: AGENT_ACCOUNT },
      healthAddr: '',
      shutdownTimeoutMs: 2_000,
      ...overrides,
    }),
    async swapIssuer() {
      const next = await createTestIntermediate({ parent: ca.root, commonName: 'Test Issuer CA 2' });
      await writeFile(join(dir, 'issuer', 'tls.crt'), next.pem);
      await writeFile(join(dir, 'issuer', 'tls.key'), next.privateKeyPem, { mode: 0o600 });
      return next;
    },
    async stop(issuer) {
      running.splice(running.indexOf(issuer), 1);
      await issuer.stop();
    },
    async start(overrides = {}, logger = silentLogger()) {
      const issuer = await startIssuerServer(world.config(overrides), { logger, clock: world.clock });
      running.push(issuer);
      return issuer;
    },
    agentToken: (node, o = {}) =>
      world.fake.mintServiceAccountToken({
        namespace: o.namespace ?? AGENT_NAMESPACE,
        serviceAccount: o.account ?? AGENT_ACCOUNT,
        pod: { name: `svid-agent-${node}`, uid: randomUUID() },
        ...(o.withoutNode ? {} : { node: { name: node } }),
        audiences: o.audiences ?? [AGENT_AUDIENCE],
      }),
    async workload(node, o = {}) {
      const uid = randomUUID();
      const token = await world.fake.mintServiceAccountToken({
        namespace: o.ns ?? 'emojivoto',
        serviceAccount: o.sa ?? 'web',
        pod: { name: `${o.sa ?? 'web'}-${uid.slice(0, 5)}`, uid },
        ...(node === undefined ? {} : { node: { name: node } }),
        audiences: ['identity.l5d.io'],
      });
      return { uid, evidence: { token, pod_uid: uid } };
    },
    async close() {
      for (const issuer of running.splice(0)) await issuer.stop();
      await world.fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  (world as { fake: FakeKubeApi }).fake = await startFakeKubeApi({ clock: world.clock });
  return world;
}
