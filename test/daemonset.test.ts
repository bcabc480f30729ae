/**
 * CI checks of the deployment artifacts (issue 6): every manifest under daemonset/ against the
 * Kubernetes schemas, then the invariants a schema cannot see (RBAC, socket path, agent flags,
 * probes, Linkerd names, the example's SPIRE-mode proxy, which waits for the agent and is
 * restarted when it stays unready; issue 9). The image build is checked in dockerfile.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { RUN_DEFAULTS, RUN_FLAGS } from '../src/cli/config.js';
import { parseDuration } from '../src/duration.js';
import { defaultIdentityDomain } from '../src/identity.js';
import { loadManifests, type ManifestDoc } from './daemonset/manifests.js';
import { validateManifest } from './daemonset/schema.js';
import { exitCodeOf, runWaitScript, waitScriptOf } from './daemonset/wait-step.js';
import { envValue, flag, parseFlags, resolvePort, volumeNamed, type Workload, workloads } from './daemonset/workload.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(REPO, 'daemonset');

// Names fixed by Linkerd's chart and proxy (docs/kubernetes.md, docs/configuration.md).
const TRUST_ROOTS_CONFIGMAP = 'linkerd-identity-trust-roots';
const TRUST_ROOTS_KEY = 'ca-bundle.crt';
const ISSUER_SECRET = 'linkerd-identity-issuer';
const JWT_SECRET = 'svid-agent-jwt-key';
const JWT_KEY = 'jwt.key';
const TOKEN_AUDIENCE = 'identity.l5d.io';
const DEFAULT_TOKEN_PATH = '/var/run/secrets/tokens/linkerd-identity-token';
const DEFAULT_SHUTDOWN_TIMEOUT = '5s';
const SPIRE_ADDRESS_ENV = 'LINKERD2_PROXY_IDENTITY_SPIRE_WORKLOAD_API_ADDRESS';
/** Env vars that carry the Workload API address as `unix://<path>`. */
const SOCKET_ENVS = [SPIRE_ADDRESS_ENV, 'SPIFFE_ENDPOINT_SOCKET'];
/** Documents that are not Kubernetes objects, by `apiVersion/kind`. */
const NOT_K8S = new Set(['kustomize.config.k8s.io/v1beta1/Kustomization', 'k3d.io/v1alpha5/Simple']);

const docs = loadManifests(ROOT);
const keyOf = (doc: ManifestDoc): string => `${String(doc.value.apiVersion)}/${String(doc.value.kind)}`;
const agentDocs = docs.filter((d) => !d.file.includes('/'));
const exampleDocs = docs.filter((d) => d.file.startsWith('example/'));

const agent = single(
  workloads(agentDocs).filter((w) => w.kind === 'DaemonSet'),
  'DaemonSet in daemonset/',
);
const agentContainer = single(agent.pod.containers, 'container in the DaemonSet');
const agentArgs = parseFlags(agentContainer.args ?? []);
const socketPath = required(flag(agentArgs.flags, 'socket'), '--socket');
const socketDir = posix.dirname(socketPath);
const trustDomain = flag(agentArgs.flags, 'trust-domain') ?? 'cluster.local';

function single<T>(items: readonly T[] | undefined, what: string): T {
  assert.equal(items?.length, 1, `expected exactly one ${what}`);
  return (items as readonly T[])[0] as T;
}

function required<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} is missing`);
  return value;
}

/** The containers of `w` that mount the host's socket directory, with the mount path. */
function socketUsers(w: Workload): Array<{ container: IContainer; mountPath: string }> {
  const volumes = new Set((w.pod.volumes ?? []).filter((v) => v.hostPath?.path === socketDir).map((v) => v.name));
  const out: Array<{ container: IContainer; mountPath: string }> = [];
  for (const container of w.pod.containers) {
    for (const mount of container.volumeMounts ?? []) {
      if (volumes.has(mount.name)) out.push({ container, mountPath: mount.mountPath });
    }
  }
  return out;
}

/** Where `container` mounts the volume `name`; a subPath mount would miss Secret updates. */
function mountPathOf(container: IContainer, name: string): string {
  const mount = container.volumeMounts?.find((m) => m.name === name);
  assert.ok(mount, `${container.name} does not mount ${name}`);
  assert.equal(mount.subPath, undefined, `${name} must be mounted whole so updates reach it`);
  return mount.mountPath;
}

describe('manifests under daemonset/', () => {
  test('there are manifests, each file parses, and every object says why it exists', () => {
    assert.ok(docs.length >= 10, `only ${docs.length} documents found`);
    for (const doc of docs) {
      assert.notEqual(doc.comment.trim(), '', `${doc.file} document ${doc.index} has no comment saying why it exists`);
    }
  });

  test('every Kubernetes object is valid against the API schemas, with no unknown fields', () => {
    const k8sDocs = docs.filter((d) => !NOT_K8S.has(keyOf(d)));
    assert.ok(k8sDocs.length >= 8);
    for (const doc of k8sDocs) {
      assert.deepEqual(validateManifest(doc.value), [], `${doc.file} document ${doc.index} (${keyOf(doc)})`);
    }
  });

  test('the schema check catches the mistakes it is there for', () => {
    const broken = structuredClone(agentDocs.find((d) => d.value.kind === 'DaemonSet')?.value) ?? {};
    const spec = (broken.spec as { template: { spec: IPodSpec } }).template.spec;
    Object.assign(spec.containers[0]?.securityContext ?? {}, { readOnlyRootFileSystem: true });
    Object.assign(spec, { hostPID: 'yes' });
    const problems = validateManifest(broken);
    assert.ok(
      problems.some((p) => p.includes('hostPID')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('readOnlyRootFileSystem')),
      problems.join('\n'),
    );
    assert.match(validateManifest({ apiVersion: 'v1', kind: 'Nonsense' })[0] ?? '', /no schema/);
  });

  test('each kustomization lists exactly the manifests of its directory', () => {
    for (const k of docs.filter((d) => d.value.kind === 'Kustomization')) {
      const dir = posix.dirname(k.file);
      const listed = [...((k.value.resources as string[] | undefined) ?? [])].map((r) => posix.join(dir, r)).sort();
      const present = [...new Set(docs.map((d) => d.file))]
        .filter((f) => posix.dirname(f) === dir && !NOT_K8S.has(keyOf(docs.find((d) => d.file === f) as ManifestDoc)))
        .sort();
      assert.deepEqual(listed, present, k.file);
    }
  });

  test('the k3d config parses: one server, two agents', () => {
    const k3d = single(
      docs.filter((d) => d.file.startsWith('k3d/')),
      'document under k3d/',
    );
    assert.equal(keyOf(k3d), 'k3d.io/v1alpha5/Simple');
    assert.equal(k3d.value.servers, 1);
    assert.equal(k3d.value.agents, 2);
  });
});

describe('RBAC of daemonset/ (the central-issuer mode has its own: central-issuer-manifests.test.ts)', () => {
  test('the only role grants exactly create on tokenreviews and selfsubjectaccessreviews', () => {
    const roles = agentDocs.filter((d) => ['ClusterRole', 'Role'].includes(String(d.value.kind)));
    const role = single(roles, 'Role or ClusterRole').value as { kind: string; metadata: { name: string }; rules: unknown[] };
    assert.equal(role.kind, 'ClusterRole');
    const normalize = (rules: unknown[]): string[] =>
      rules
        .map((r) => {
          const rule = r as Record<string, string[] | undefined>;
          const keys = Object.keys(rule).sort();
          return JSON.stringify(keys.map((key) => [key, [...(rule[key] ?? [])].sort()]));
        })
        .sort();
    assert.deepEqual(
      normalize(role.rules),
      normalize([
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'], verbs: ['create'] },
      ]),
    );
  });

  test("the binding gives that role to the DaemonSet's service account and nothing else", () => {
    const bindings = agentDocs.filter((d) => ['ClusterRoleBinding', 'RoleBinding'].includes(String(d.value.kind)));
    const binding = single(bindings, 'binding').value as {
      kind: string;
      roleRef: { kind: string; name: string };
      subjects: Array<{ kind: string; name: string; namespace?: string }>;
    };
    const role = agentDocs.find((d) => d.value.kind === 'ClusterRole')?.value as { metadata: { name: string } };
    assert.equal(binding.kind, 'ClusterRoleBinding');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: agent.pod.serviceAccountName, namespace: agent.namespace }]);
    assert.ok(
      agentDocs.some(
        (d) => d.value.kind === 'ServiceAccount' && (d.value.metadata as { name: string }).name === agent.pod.serviceAccountName,
      ),
      'the ServiceAccount is defined',
    );
  });
});

describe('the agent DaemonSet', () => {
  test('runs `svid-agent run` with flags it accepts, written --name=value', () => {
    assert.deepEqual(agentArgs.command, ['run']);
    const known = new Set(RUN_FLAGS);
    for (const name of agentArgs.flags.keys()) assert.ok(known.has(name), `svid-agent run has no flag --${name}`);
    assert.equal(flag(agentArgs.flags, 'attestor'), 'k8s');
    for (const name of ['trust-anchors', 'issuer-dir', 'jwt-key', 'health-addr']) required(flag(agentArgs.flags, name), `--${name}`);
  });

  test('knows its node from the downward API and sees host PIDs', () => {
    assert.equal(agent.pod.hostPID, true);
    assert.equal(agent.pod.hostNetwork ?? false, false);
    const nodeName = agentContainer.env?.find((e) => e.name === 'NODE_NAME');
    assert.equal(nodeName?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
    const nodeFlag = flag(agentArgs.flags, 'node-name');
    assert.ok(nodeFlag === undefined || nodeFlag === '$(NODE_NAME)', `--node-name=${nodeFlag}`);
  });

  test('serves the socket from a hostPath directory it may create', () => {
    assert.ok(posix.isAbsolute(socketPath));
    const users = socketUsers(agent);
    const { mountPath } = single(users, 'mount of the socket directory in the DaemonSet');
    assert.equal(mountPath, socketDir);
    const volume = single(
      agent.pod.volumes?.filter((v) => v.hostPath?.path === socketDir),
      'hostPath volume of the socket directory',
    );
    assert.equal(volume.hostPath?.type, 'DirectoryOrCreate');
  });

  test('probes /live and /ready on the --health-addr port, which listens beyond loopback', () => {
    const addr = required(flag(agentArgs.flags, 'health-addr'), '--health-addr');
    const match = /^(.*):(\d+)$/.exec(addr);
    assert.ok(match, `--health-addr=${addr} is not HOST:PORT`);
    assert.ok(!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(match[1] ?? ''), 'the kubelet probes the pod IP');
    const port = Number(match[2]);
    const live = agentContainer.livenessProbe?.httpGet;
    const ready = agentContainer.readinessProbe?.httpGet;
    assert.equal(live?.path, '/live');
    assert.equal(ready?.path, '/ready');
    assert.equal(resolvePort(agentContainer, live?.port), port);
    assert.equal(resolvePort(agentContainer, ready?.port), port);
  });

  test("mounts Linkerd's trust roots and issuer and the JWT key where its flags point", () => {
    const anchors = volumeNamed(agent.pod, 'trust-roots');
    assert.equal(anchors.configMap?.name, TRUST_ROOTS_CONFIGMAP);
    const item = single(anchors.configMap?.items, 'item of the trust-roots ConfigMap');
    assert.equal(item.key, TRUST_ROOTS_KEY);
    assert.equal(flag(agentArgs.flags, 'trust-anchors'), posix.join(mountPathOf(agentContainer, 'trust-roots'), item.path));

    const issuer = single(
      agent.pod.volumes?.filter((v) => v.secret?.secretName === ISSUER_SECRET),
      `volume of Secret ${ISSUER_SECRET}`,
    );
    assert.equal(issuer.secret?.items, undefined, 'both issuer file schemes (tls.crt, crt.pem) must reach the agent');
    assert.equal(flag(agentArgs.flags, 'issuer-dir'), mountPathOf(agentContainer, issuer.name));

    const jwt = single(
      agent.pod.volumes?.filter((v) => v.secret?.secretName === JWT_SECRET),
      `volume of Secret ${JWT_SECRET}`,
    );
    const jwtItem = single(jwt.secret?.items, `item of Secret ${JWT_SECRET}`);
    assert.equal(jwtItem.key, JWT_KEY);
    assert.equal(flag(agentArgs.flags, 'jwt-key'), posix.join(mountPathOf(agentContainer, jwt.name), jwtItem.path));
  });

  test('runs as tight as reading other pods through /proc allows', () => {
    const sc = required(agentContainer.securityContext, 'container securityContext');
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.notEqual(sc.privileged, true);
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    for (const cap of sc.capabilities?.add ?? []) assert.ok(['SYS_PTRACE', 'DAC_READ_SEARCH'].includes(cap), `capability ${cap}`);
    assert.equal(agent.pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    const resources = required(agentContainer.resources, 'resources');
    for (const r of ['cpu', 'memory']) {
      assert.ok(resources.requests?.[r] !== undefined, `requests.${r}`);
      assert.ok(resources.limits?.[r] !== undefined, `limits.${r}`);
    }
  });

  test('asks for the memory docs/performance.md sizes for the default connection and stream caps', () => {
    // The line docs/performance.md writes under "Sizing the DaemonSet", from the bench's figures.
    const doc = readFileSync(join(REPO, 'docs/performance.md'), 'utf8');
    const sized =
      /^DaemonSet resources: requests cpu (\S+), memory (\S+); limits cpu (\S+), memory (\S+); caps: (\d+) connections, (\d+) streams\.$/m.exec(
        doc,
      );
    assert.ok(sized, 'docs/performance.md has no "DaemonSet resources: ..." line');
    const [, reqCpu, reqMemory, limCpu, limMemory, connections, streams] = sized;
    const resources = required(agentContainer.resources, 'resources');
    assert.deepEqual(
      { requests: resources.requests, limits: resources.limits },
      { requests: { cpu: reqCpu, memory: reqMemory }, limits: { cpu: limCpu, memory: limMemory } },
    );
    // The sizing holds for the default caps, which the DaemonSet must then not raise.
    assert.equal(Number(connections), RUN_DEFAULTS.maxConnections);
    assert.equal(Number(streams), RUN_DEFAULTS.maxStreams);
    for (const name of ['max-connections', 'max-streams'])
      assert.equal(flag(agentArgs.flags, name), undefined, `--${name} in the DaemonSet`);
  });

  test('updates node by node and gives the agent longer than its shutdown timeout', () => {
    const strategy = (agent.spec.updateStrategy as { type?: string } | undefined)?.type;
    assert.equal(strategy, 'RollingUpdate');
    const timeoutMs = parseDuration(flag(agentArgs.flags, 'shutdown-timeout') ?? DEFAULT_SHUTDOWN_TIMEOUT);
    const graceMs = (agent.pod.terminationGracePeriodSeconds ?? 30) * 1000;
    assert.ok(graceMs > timeoutMs, `terminationGracePeriodSeconds ${graceMs / 1000}s <= shutdown timeout ${timeoutMs / 1000}s`);
  });
});

describe('the example workloads', () => {
  const examples = workloads(exampleDocs);
  const proxies = examples.flatMap((w) =>
    w.pod.containers.filter((c) => envValue(c, SPIRE_ADDRESS_ENV) !== undefined).map((c) => ({ w, c })),
  );

  test('reach the agent at the same socket path: hostPath, mount, env and --socket', () => {
    const users = examples.flatMap((w) => socketUsers(w).map((u) => ({ w, ...u })));
    assert.ok(users.length >= 2, 'the proxy and the debug pod use the socket');
    for (const { w, container, mountPath } of users) {
      const where = `${w.file} ${container.name}`;
      assert.equal(mountPath, socketDir, where);
      const addresses = SOCKET_ENVS.map((name) => envValue(container, name)).filter((v) => v !== undefined);
      const socketFlags = parseFlags(container.args ?? []).flags.get('socket') ?? [];
      assert.ok(addresses.length + socketFlags.length > 0, `${where} names no socket`);
      for (const address of addresses) assert.equal(address, `unix://${socketPath}`, where);
      for (const value of socketFlags) assert.equal(value, socketPath, where);
    }
    for (const { w, c } of proxies)
      assert.ok(
        socketUsers(w).some((u) => u.container === c),
        `${c.name} mounts the socket directory`,
      );
  });

  test('hold the projected token the agent reads through /proc/<pid>/root', () => {
    const tokenPaths = agentArgs.flags.get('token-path') ?? [DEFAULT_TOKEN_PATH];
    const audience = flag(agentArgs.flags, 'token-audience') ?? TOKEN_AUDIENCE;
    for (const w of examples) {
      for (const { container } of socketUsers(w)) {
        const found = (container.volumeMounts ?? []).some((mount) => {
          const source = w.pod.volumes?.find((v) => v.name === mount.name)?.projected?.sources?.find((s) => s.serviceAccountToken);
          const token = source?.serviceAccountToken;
          return token?.audience === audience && tokenPaths.includes(posix.join(mount.mountPath, token.path));
        });
        assert.ok(found, `${w.file} ${container.name}: no ${audience} token at ${tokenPaths.join(' or ')}`);
      }
    }
  });

  test('run a Linkerd proxy in SPIRE mode with the identity the agent issues', () => {
    assert.ok(proxies.length >= 1, 'a container sets the SPIRE Workload API address');
    const identityDomain = flag(agentArgs.flags, 'identity-domain') ?? defaultIdentityDomain(trustDomain);
    for (const { w, c } of proxies) {
      const nsVar = c.env?.find((e) => e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace')?.name;
      assert.ok(nsVar, 'the namespace comes from the downward API');
      const sa = required(w.pod.serviceAccountName, 'serviceAccountName');
      assert.equal(envValue(c, 'LINKERD2_PROXY_IDENTITY_SERVER_ID'), `spiffe://${trustDomain}/ns/$(${nsVar})/sa/${sa}`);
      assert.equal(envValue(c, 'LINKERD2_PROXY_IDENTITY_SERVER_NAME'), `${sa}.$(${nsVar}).serviceaccount.${identityDomain}`);
      assert.equal(envValue(c, 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME'), undefined, 'LOCAL_NAME would override SERVER_ID');
      const anchors = c.env?.find((e) => e.name === 'LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS')?.valueFrom?.configMapKeyRef;
      assert.deepEqual({ name: anchors?.name, key: anchors?.key }, { name: TRUST_ROOTS_CONFIGMAP, key: TRUST_ROOTS_KEY });
      assert.deepEqual(c.command, ['/usr/lib/linkerd/linkerd2-proxy'], 'bypass proxy-identity, which is for Linkerd mode');
      // A proxy whose first connect to the agent failed stays unready with /live 200: restart it.
      const adminPort = Number(/:(\d+)$/.exec(envValue(c, 'LINKERD2_PROXY_ADMIN_LISTEN_ADDR') ?? '')?.[1]);
      const startup = required(c.startupProbe, `${c.name} startupProbe`);
      assert.equal(startup.httpGet?.path, '/ready');
      assert.equal(resolvePort(c, startup.httpGet?.port), adminPort);
      const restartAfter = (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3);
      assert.ok(restartAfter >= 30 && restartAfter <= 300, `restarted after ${restartAfter}s`);
      assert.equal(c.livenessProbe?.httpGet?.path, '/live');
      assert.equal(c.readinessProbe?.httpGet?.path, '/ready');
    }
  });

  test('wait for the agent before the proxy starts: a bounded loop of `svid-agent healthcheck`', async () => {
    for (const { w } of proxies) {
      const wait = single(
        w.pod.initContainers?.filter((c) => c.image === agentContainer.image && c.restartPolicy === undefined),
        `init container of ${w.file} that runs the agent image`,
      );
      const hostDir = (name: string) => w.pod.volumes?.find((v) => v.name === name)?.hostPath?.path;
      const mount = wait.volumeMounts?.find((m) => hostDir(m.name) === socketDir);
      assert.equal(mount?.mountPath, socketDir, `${wait.name} mounts the socket directory`);
      const script = waitScriptOf(wait);
      const healthy = await runWaitScript(script, { healthyOnCall: 3 });
      assert.deepEqual([healthy.code, healthy.calls.length], [0, 3], 'it stops as soon as the agent is healthy');
      const never = await runWaitScript(script);
      assert.notEqual(never.code, 0, 'it gives up, so the kubelet retries and shows why');
      let boundMs = never.sleeps.reduce((sum, s) => sum + parseDuration(`${s}s`), 0);
      for (const call of never.calls) {
        const { command, flags } = parseFlags(call);
        assert.deepEqual(command, ['healthcheck']);
        assert.equal(flag(flags, 'socket'), socketPath);
        boundMs += parseDuration(flag(flags, 'timeout') ?? '5s');
        const run = await exitCodeOf(call);
        assert.notEqual(run.code, 2, `svid-agent ${call.join(' ')}: ${run.stderr}`);
      }
      assert.ok(boundMs >= 30_000 && boundMs <= 300_000, `waits at most ${boundMs / 1000}s`);
    }
  });

  test('use the same agent image as the DaemonSet for the CLI', () => {
    const cli = examples.flatMap((w) => w.pod.containers).filter((c) => c.image?.split(':')[0] === agentContainer.image?.split(':')[0]);
    assert.ok(cli.length >= 1);
    for (const c of cli) assert.equal(c.image, agentContainer.image);
  });
});

describe('docs/kubernetes.md', () => {
  test('names only files that exist', () => {
    const path = join(REPO, 'docs', 'kubernetes.md');
    const text = readFileSync(path, 'utf8');
    // Paths with an extension or a trailing slash; `daemonset/svid-agent` is a kubectl resource.
    const mentioned = new Set(text.match(/\b(?:daemonset|docs|test)\/[\w./-]*(?:\.\w+|\/)/g) ?? []);
    assert.ok(mentioned.size > 0);
    for (const file of mentioned) assert.ok(existsSync(join(REPO, file)), `${file}, named in ${relative(REPO, path)}`);
  });
});
