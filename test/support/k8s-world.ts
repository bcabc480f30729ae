/**
 * Helpers for Kubernetes-attestation tests: pods with projected tokens minted by the fake API,
 * and callers that are real child processes whose /proc fixture says which pod they are in.
 */
import type { FakeKubeApi } from '../fakes/kube-api.js';
import { type ChildEvent, startChild } from './child.js';
import { type FakeProcess, type ProcFixture, podCgroup, randomContainerId, randomPodUid } from './proc-fixture.js';

/** Linkerd's projected token path, the agent's default `--token-path`. */
export const TOKEN_PATH = '/var/run/secrets/tokens/linkerd-identity-token';
/** The node the agents under test run on. */
export const NODE = 'node-a';

export interface TestPod {
  readonly uid: string;
  /** A projected service-account token bound to the pod. */
  readonly token: string;
  /** A cgroup file placing a process in the pod. */
  readonly cgroup: string;
}

/** A pod with a token for `ns/sa` (default `emojivoto/web`), audience `identity.l5d.io`, on {@link NODE}. */
export async function createTestPod(
  api: FakeKubeApi,
  opts: { ns?: string; sa?: string; node?: string; audiences?: string[]; expiresInSeconds?: number } = {},
): Promise<TestPod> {
  const uid = randomPodUid();
  const token = await api.mintServiceAccountToken({
    namespace: opts.ns ?? 'emojivoto',
    serviceAccount: opts.sa ?? 'web',
    pod: { name: 'web-abc', uid },
    node: { name: opts.node ?? NODE },
    audiences: opts.audiences ?? ['identity.l5d.io'],
    expiresInSeconds: opts.expiresInSeconds,
  });
  return { uid, token, cgroup: podCgroup(uid, randomContainerId()) };
}

/** The files a pod's process has: its cgroup and its projected token. */
export function inPod(pod: TestPod): FakeProcess {
  return { cgroup: pod.cgroup, files: { [TOKEN_PATH]: pod.token } };
}

/**
 * Spawns a client, gives its real pid the fixture `process`, lets it call the agent on
 * `socketPath`, and returns its events. `beforeGo` runs after the fixture is written.
 */
export async function callAs(
  target: { socketPath: string; proc: ProcFixture },
  process: FakeProcess,
  extraArgs: string[] = [],
  beforeGo?: (pid: number) => Promise<void>,
): Promise<ChildEvent[]> {
  const child = startChild(['--socket', target.socketPath, '--wait-stdin', ...extraArgs]);
  const ready = await child.waitFor((e) => e.event === 'ready');
  await target.proc.addProcess(ready.pid as number, process);
  await beforeGo?.(ready.pid as number);
  child.go();
  return child.done;
}

/** The SPIFFE ID of the first SVID the client received, if any. */
export function spiffeIdOf(events: ChildEvent[]): string | undefined {
  const data = events.find((e) => e.event === 'data');
  return (data?.message?.svids as Array<{ spiffe_id: string }> | undefined)?.[0]?.spiffe_id;
}
