/**
 * Starts the real agent (`startAgent`, the composition root) on a temp socket with freshly made
 * credentials, for integration tests. Logs are captured, never printed.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentConfig, type RunningAgent, startAgent } from '../../src/agent/index.js';
import type { Clock } from '../../src/clock.js';
import { createIssuerCa, createTrustAnchor, type GeneratedCa } from '../../src/issuer/index.js';
import { type CapturedLogger, captureLogger } from './log-capture.js';

/** An agent on fresh credentials made by {@link writeCredentials}. */
export interface TestAgent extends StartedAgent {
  readonly anchor: GeneratedCa;
  readonly issuer: GeneratedCa;
}

/** Writes an anchor + issuer in Linkerd's kubernetes.io/tls layout under `dir`. */
export async function writeCredentials(
  dir: string,
): Promise<{ anchor: GeneratedCa; issuer: GeneratedCa; trustAnchors: string; issuerDir: string }> {
  const anchor = createTrustAnchor();
  const issuer = createIssuerCa({ anchor });
  const issuerDir = join(dir, 'issuer');
  await mkdir(issuerDir, { recursive: true });
  const trustAnchors = join(dir, 'ca-bundle.crt');
  await writeFile(trustAnchors, anchor.certificatePem);
  await writeFile(join(issuerDir, 'tls.crt'), issuer.certificatePem);
  await writeFile(join(issuerDir, 'tls.key'), issuer.privateKeyPem, { mode: 0o600 });
  return { anchor, issuer, trustAnchors, issuerDir };
}

/** A complete agent configuration for tests; override what the test is about. */
export function testAgentConfig(dir: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    socket: join(dir, 'agent.sock'),
    trustDomain: 'cluster.local',
    trustAnchors: join(dir, 'ca-bundle.crt'),
    issuerDir: join(dir, 'issuer'),
    jwtKey: undefined,
    attestor: 'unix',
    kubeconfig: undefined,
    nodeName: undefined,
    procRoot: '/proc',
    tokenPaths: ['/var/run/secrets/tokens/linkerd-identity-token'],
    tokenAudience: 'identity.l5d.io',
    identityDomain: 'identity.linkerd.cluster.local',
    svidTtlMs: 24 * 3_600_000,
    jwtTtlMs: 5 * 60_000,
    clockSkewMs: 20_000,
    minRefreshMs: 10_000,
    maxRefreshMs: 24 * 3_600_000,
    svidIdleTtlMs: 60_000,
    maxConnections: 1024,
    maxCallerConnections: 128,
    maxStreams: 4096,
    maxCallerStreams: 1024,
    shutdownTimeoutMs: 5_000,
    centralIssuer: undefined,
    healthAddr: '',
    ...overrides,
  };
}

/** The overrides of a node agent in central mode (`--issuer-addr`): the k8s attestor on `node`, no issuer of its own. */
export function centralAgentOverrides(o: {
  readonly node: string;
  readonly procRoot: string;
  readonly central: NonNullable<AgentConfig['centralIssuer']>;
}): Partial<AgentConfig> {
  return { attestor: 'k8s', nodeName: o.node, procRoot: o.procRoot, issuerDir: undefined, centralIssuer: o.central };
}

/** A fresh temp directory that other uids can enter (tests run clients as nobody). */
export async function makeTestDir(prefix = 'svid-agent-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** An agent started on credentials a test laid out itself under `dir`. */
export interface StartedAgent {
  readonly dir: string;
  readonly socketPath: string;
  readonly config: AgentConfig;
  readonly running: RunningAgent;
  readonly log: CapturedLogger;
  /** Stops the agent and removes the directory. */
  close(): Promise<void>;
}

/** Starts the agent with `testAgentConfig(dir, overrides)`; the credentials must already be in `dir`. */
export async function startAgentIn(
  dir: string,
  overrides: Partial<AgentConfig> = {},
  deps: { clock?: Clock; random?: () => number } = {},
): Promise<StartedAgent> {
  const config = testAgentConfig(dir, overrides);
  const log = captureLogger('debug');
  const running = await startAgent(config, { logger: log.logger, clock: deps.clock, ...(deps.random ? { random: deps.random } : {}) });
  return {
    dir,
    socketPath: config.socket,
    config,
    running,
    log,
    async close() {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts an agent on fresh credentials; `overrides` adjust the config (paths default to the temp dir). */
export async function startTestAgent(overrides: Partial<AgentConfig> = {}, deps: { clock?: Clock } = {}): Promise<TestAgent> {
  const dir = await makeTestDir();
  const { anchor, issuer } = await writeCredentials(dir);
  return { ...(await startAgentIn(dir, overrides, deps)), anchor, issuer };
}
