/**
 * Process → pod: the pod UID and container ID in `/proc/<pid>/cgroup` (docs/kubernetes.md). Pure.
 *
 * Each line is `hierarchy-id:controllers:path`. A path is walked from its last segment back:
 * the first segment holding a word-bounded run of exactly 64 hex characters gives the
 * container ID; the walk then goes on (starting with what precedes the ID in that same segment)
 * looking for `pod` + an 8-4-4-4-12 UUID whose separators may be `-` or `_` (the systemd cgroup
 * driver escapes `-` as `_`). This one rule covers cgroup v1 and v2, containerd, CRI-O, Docker,
 * the QoS classes, systemd slices and kind — the same algorithm as SPIRE's container locator.
 */
import { AgentError } from '../errors.js';

/** What a cgroup file says about a process. Both fields absent: not in a container. */
export interface CgroupIdentity {
  /** Lower-case 64-hex container ID. */
  readonly containerId?: string;
  /** Lower-case pod UID with `-` separators; only set together with `containerId`. */
  readonly podUid?: string;
}

/** `\b` in JS has the ASCII semantics the rule needs: hex digits are word characters. */
const CONTAINER_ID = /\b[0-9a-fA-F]{64}\b/;
const POD_UID = /\bpod([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12})\b/;

/**
 * Extracts the container ID and pod UID from one cgroup path.
 * @returns `{}` when the path holds no container ID (then no pod UID is looked for either)
 */
export function identityFromCgroupPath(path: string): CgroupIdentity {
  const segments = path.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] as string;
    const id = CONTAINER_ID.exec(segment);
    if (!id) continue;
    const containerId = id[0].toLowerCase();
    // The pod UID may share the container's segment (`…pod<uid>.slice:cri-containerd:<id>`),
    // so the search starts with the part of this segment before the ID.
    const before = [...segments.slice(0, i), segment.slice(0, id.index)];
    for (let j = before.length - 1; j >= 0; j--) {
      const pod = POD_UID.exec(before[j] as string);
      if (pod) return { containerId, podUid: (pod[1] as string).replaceAll('_', '-').toLowerCase() };
    }
    return { containerId };
  }
  return {};
}

/**
 * Reads a whole `/proc/<pid>/cgroup` file. Lines that name a pod win over lines that do not
 * (kind on macOS has a `/docker/<hostid>/system.slice/containerd.service` line beside the pod's).
 * @returns `{}` when no line holds a container ID: the process is not in a pod
 * @throws AgentError `NO_IDENTITY` when a line is malformed or lines disagree on the pod UID or
 *   the container ID (the process cannot be placed, so it is refused)
 */
export function parseCgroupFile(text: string): CgroupIdentity {
  const found: CgroupIdentity[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) throw new AgentError('NO_IDENTITY', `cgroup line ${index + 1} is malformed`);
    // The path is everything after the second colon: it may itself contain colons.
    const identity = identityFromCgroupPath(line.slice(second + 1));
    if (identity.containerId !== undefined) found.push(identity);
  }
  const withPod = found.filter((f) => f.podUid !== undefined);
  const relevant = withPod.length > 0 ? withPod : found;
  const podUids = new Set(relevant.map((f) => f.podUid).filter((u) => u !== undefined));
  if (podUids.size > 1) {
    throw new AgentError('NO_IDENTITY', `multiple pod UIDs found in cgroups (${[...podUids].sort().join(', ')})`);
  }
  const containerIds = new Set(relevant.map((f) => f.containerId));
  if (containerIds.size > 1) {
    throw new AgentError('NO_IDENTITY', `multiple container IDs found in cgroups (${[...containerIds].sort().join(', ')})`);
  }
  return relevant[0] ?? {};
}
