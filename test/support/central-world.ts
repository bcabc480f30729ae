/**
 * A node agent in central mode (`run --issuer-addr`) against the fake node service, with callers
 * that are real child processes placed in pods by a /proc fixture. For the agent's side of the
 * central issuer; the real issuer is tested in its own files.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../../src/agent/index.js';
import { loadIssuer, loadTrustAnchors } from '../../src/issuer/index.js';
import { type FakeNodeIssuer, type FakeNodeIssuerOptions, startFakeNodeIssuer } from '../fakes/node-issuer.js';
import { centralAgentOverrides, makeTestDir, type StartedAgent, startAgentIn, writeCredentials } from './agent-harness.js';
import { type RunningChild, startChild } from './child.js';
import { NODE, TOKEN_PATH } from './k8s-world.js';
import { createProcFixture, type FakeProcess, type ProcFixture, podCgroup, randomContainerId, randomPodUid } from './proc-fixture.js';
import { waitUntil } from './wait-until.js';

export interface CentralWorld {
  readonly issuer: FakeNodeIssuer;
  readonly agent: StartedAgent;
  readonly proc: ProcFixture;
  readonly socketPath: string;
  /** Writes a new agent token (the kubelet rotating it) that the issuer accepts from now on. */
  rotateAgentToken(): Promise<string>;
  close(): Promise<void>;
}

/** A token shaped like a JWT, expiring in an hour: the validation cache reads its `exp`. */
export function fakeJwt(claims: Record<string, unknown> = {}): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ exp: Math.floor(Date.now() / 1000) + 3600, jti: randomUUID(), ...claims })}.sig`;
}

/** A pod on `node` (default the agent's) known to the issuer; its process files. */
export function addPod(world: Pick<CentralWorld, 'issuer'>, opts: { ns?: string; sa?: string; node?: string } = {}) {
  const uid = randomPodUid();
  const token = fakeJwt();
  world.issuer.pods.set(token, {
    namespace: opts.ns ?? 'emojivoto',
    serviceAccount: opts.sa ?? 'web',
    podUid: uid,
    node: opts.node ?? NODE,
  });
  const process: FakeProcess = { cgroup: podCgroup(uid, randomContainerId()), files: { [TOKEN_PATH]: token } };
  return { uid, token, process };
}

/** Starts the fake issuer and an agent using it (plaintext on loopback). */
export async function startCentralWorld(
  options: { issuer?: Partial<FakeNodeIssuerOptions>; agent?: Partial<AgentConfig>; random?: () => number } = {},
): Promise<CentralWorld> {
  const dir = await makeTestDir('svid-agent-central-');
  const { trustAnchors, issuerDir } = await writeCredentials(dir);
  const anchors = await loadTrustAnchors(trustAnchors, { now: Date.now() });
  const credentials = await loadIssuer(issuerDir, anchors, { now: Date.now() });
  const agentTokenPath = join(dir, 'agent-token');
  let agentToken = fakeJwt({ sub: 'system:serviceaccount:svid-agent:svid-agent' });
  await writeFile(agentTokenPath, agentToken);
  const issuer = await startFakeNodeIssuer({ issuer: credentials, agentToken: () => agentToken, agentNode: NODE, ...options.issuer });
  const proc = await createProcFixture();
  const agent = await startAgentIn(
    dir,
    {
      ...centralAgentOverrides({
        node: NODE,
        procRoot: proc.root,
        central: { address: issuer.address, serverName: 'issuer.test', plaintext: true, agentTokenPath },
      }),
      // Every call that needs an SVID reaches the fake issuer: no identity is kept idle for reuse.
      svidIdleTtlMs: 0,
      ...options.agent,
    },
    options.random ? { random: options.random } : {},
  );
  return {
    issuer,
    agent,
    proc,
    socketPath: agent.socketPath,
    async rotateAgentToken() {
      agentToken = fakeJwt({ sub: 'system:serviceaccount:svid-agent:svid-agent' });
      await writeFile(agentTokenPath, agentToken);
      return agentToken;
    },
    async close() {
      await agent.close();
      await issuer.stop();
      await proc.cleanup();
    },
  };
}

/** Resolves once the agent has logged `msg` `count` times (polls its captured log; no sleep decides anything). */
export function logged(w: Pick<CentralWorld, 'agent'>, msg: string, count = 1): Promise<void> {
  return agentLogged(w.agent, msg, count);
}

/** Resolves once `agent` has logged `msg` `count` times (polls its captured log; no sleep decides anything). */
export function agentLogged(agent: Pick<StartedAgent, 'log'>, msg: string, count = 1): Promise<void> {
  return waitUntil(() => agent.log.entries.filter((e) => e.msg === msg).length >= count, `"${msg}" logged ${count} times`, {
    everyMs: 20,
    hangMs: 60_000,
    state: () => agent.log.text(),
  });
}

/**
 * A FetchX509SVID stream held open by a pod's process until it has `count` messages or ends;
 * resolves after the first. `w`: any agent with its socket and /proc fixture.
 */
export async function holdStream(
  w: Pick<CentralWorld, 'socketPath' | 'proc'>,
  process: FakeProcess,
  count: number,
): Promise<RunningChild & { pid: number }> {
  const child = startChild(['--socket', w.socketPath, '--wait-stdin', '--count', String(count), '--timeout', '90000']);
  const ready = await child.waitFor((e) => e.event === 'ready');
  await w.proc.addProcess(ready.pid as number, process);
  child.go();
  await child.waitFor((e) => e.event === 'data');
  return Object.assign(child, { pid: ready.pid as number });
}
