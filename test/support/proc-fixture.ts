/**
 * A fake `/proc` for attestation tests: `<dir>/<pid>/{stat,cgroup,root/<token path>}` for real
 * PIDs, so the peer PID the kernel reports stays real while what the agent reads about it is
 * chosen by the test. `stat` is copied from the real `/proc/<pid>/stat` (so the start time is
 * real) and can be rewritten to simulate PID reuse. `mountinfo` is written only when a test gives
 * one (the reader then finds the filesystem a file it opened is on, and reads a file on tmpfs in
 * line; without one it reads through the thread pool, whatever the host's filesystems are). Also
 * builds cgroup files of real-world shapes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** What one fake process looks like. */
export interface FakeProcess {
  /** Text of `cgroup`; default: not in a pod (`0::/user.slice/...`). */
  readonly cgroup?: string;
  /** Files inside the process's root, keyed by absolute path (e.g. the projected token). */
  readonly files?: Readonly<Record<string, string>>;
  /** Overrides field 22 of the copied `stat`. */
  readonly startTime?: string;
  /** Text of `mountinfo`, e.g. the agent's own (the mounts through which it sees the fixture); default none. */
  readonly mountinfo?: string;
}

/** Options of {@link createProcFixture}. */
export interface ProcFixtureOptions {
  /** Directory to create the fixture in; default the system's temporary directory. */
  readonly parent?: string;
}

/** A temporary proc root. */
export interface ProcFixture {
  /** Pass as `procRoot` / `--proc-root`. */
  readonly root: string;
  /** Creates or replaces `<root>/<pid>` for a real, running PID. */
  addProcess(pid: number, process?: FakeProcess): Promise<void>;
  setStartTime(pid: number, startTime: string): Promise<void>;
  setCgroup(pid: number, cgroup: string): Promise<void>;
  /** Writes a file inside the process's root (creating directories). */
  writeFileInRoot(pid: number, path: string, content: string): Promise<void>;
  removeProcess(pid: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** Replaces field 22 (start time) of a stat line, counting after the last `)` as the kernel's format needs. */
export function withStartTime(stat: string, startTime: string): string {
  const close = stat.lastIndexOf(')');
  const fields = stat
    .slice(close + 2)
    .trimEnd()
    .split(' ');
  fields[19] = startTime;
  return `${stat.slice(0, close + 2)}${fields.join(' ')}\n`;
}

/** Creates an empty proc root in a temporary directory. */
export async function createProcFixture(options: ProcFixtureOptions = {}): Promise<ProcFixture> {
  const root = await mkdtemp(join(options.parent ?? tmpdir(), 'proc-fixture-'));
  const pidDir = (pid: number): string => join(root, String(pid));

  const fixture: ProcFixture = {
    root,
    async addProcess(pid, process = {}) {
      await rm(pidDir(pid), { recursive: true, force: true });
      await mkdir(join(pidDir(pid), 'root'), { recursive: true });
      const real = await readFile(`/proc/${pid}/stat`, 'utf8');
      await writeFile(join(pidDir(pid), 'stat'), process.startTime ? withStartTime(real, process.startTime) : real);
      await writeFile(join(pidDir(pid), 'cgroup'), process.cgroup ?? hostCgroup());
      if (process.mountinfo !== undefined) await writeFile(join(pidDir(pid), 'mountinfo'), process.mountinfo);
      for (const [path, content] of Object.entries(process.files ?? {})) await fixture.writeFileInRoot(pid, path, content);
    },
    async setStartTime(pid, startTime) {
      const stat = await readFile(join(pidDir(pid), 'stat'), 'utf8');
      await writeFile(join(pidDir(pid), 'stat'), withStartTime(stat, startTime));
    },
    async setCgroup(pid, cgroup) {
      await writeFile(join(pidDir(pid), 'cgroup'), cgroup);
    },
    async writeFileInRoot(pid, path, content) {
      const host = join(pidDir(pid), 'root', path);
      await mkdir(dirname(host), { recursive: true });
      await writeFile(host, content);
    },
    async removeProcess(pid) {
      await rm(pidDir(pid), { recursive: true, force: true });
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** A random 64-hex container ID. */
export function randomContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** A random pod UID. */
export function randomPodUid(): string {
  return randomUUID();
}

/** A process on the host, outside any pod (cgroup v2, systemd). */
export function hostCgroup(): string {
  return '0::/user.slice/user-1000.slice/session-3.scope\n';
}

/**
 * A pod container's cgroup file as the kubelet's systemd driver and containerd write it on a
 * cgroup v2 node (the common case today): `_` in the slice's pod UID, `cri-containerd-<id>.scope`.
 */
export function podCgroup(podUid: string, containerId: string, qos: 'burstable' | 'besteffort' = 'burstable'): string {
  const slice = `kubepods-${qos}-pod${podUid.replaceAll('-', '_')}.slice`;
  return `0::/kubepods.slice/kubepods-${qos}.slice/${slice}/cri-containerd-${containerId}.scope\n`;
}
