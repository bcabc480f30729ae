/**
 * The central-issuer overlay (daemonset/central-issuer/, docs/central-issuer.md): it builds with
 * kustomize, every object is valid, and the issuer Deployment keeps what the threat model relies
 * on: two replicas on two nodes the operator chose, a disruption budget, least-privilege RBAC,
 * the signing keys mounted in the issuer alone, flags `svid-agent issuer` accepts; and node agents
 * that hold no secret at all, no API access, and their own token for the issuer's agent audience.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadRunConfig, RUN_FLAGS } from '../src/cli/config.js';
import { loadIssuerConfig } from '../src/cli/issuer-config.js';
import { ISSUER_FLAGS } from '../src/cli/issuer-options.js';
import { loadManifests, type ManifestDoc } from './daemonset/manifests.js';
import { validateManifest } from './daemonset/schema.js';
import { flag, parseFlags, resolvePort, volumeNamed, workloads } from './daemonset/workload.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(REPO, 'daemonset', 'central-issuer');
/** The node label that places the issuer, as docs/central-issuer.md tells operators to set it. */
const ISSUER_NODE_LABEL = 'svid-agent.io/issuer';
const SIGNING_SECRETS = ['linkerd-identity-issuer', 'svid-agent-jwt-key'];

const docs = loadManifests(DIR);
const ofKind = (kind: string): ManifestDoc[] => docs.filter((d) => d.value.kind === kind);
const issuer = workloads(docs).find((w) => w.kind === 'Deployment' && w.name === 'svid-issuer');
assert.ok(issuer, 'daemonset/central-issuer/ has the svid-issuer Deployment');
const container = issuer.pod.containers[0];
assert.ok(container && issuer.pod.containers.length === 1);
const args = parseFlags(container.args ?? []);
const podLabels = (issuer.spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
const agent = workloads(docs).find((w) => w.kind === 'DaemonSet' && w.name === 'svid-agent');
assert.ok(agent, 'daemonset/central-issuer/ has the svid-agent DaemonSet');
const agentContainer = agent.pod.containers[0];
assert.ok(agentContainer && agent.pod.containers.length === 1);
const agentArgs = parseFlags(agentContainer.args ?? []);

/** `--kebab-name=value` flags as the camelCase keys the configuration loaders take. */
const camelFlags = (flags: ReadonlyMap<string, readonly string[]>, env: Record<string, string> = {}) =>
  Object.fromEntries(
    [...flags].map(([name, [value]]) => [
      name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()),
      (value ?? '').replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => env[v] ?? ''),
    ]),
  );
const issuerConfig = loadIssuerConfig({ flags: camelFlags(args.flags), env: {}, cwd: '/', readFile: () => '' });

/** `kubectl kustomize` is there to build the overlay as users apply it; without it that test is skipped. */
function kubectl(): string | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return 'kubectl';
  } catch {
    return undefined;
  }
}

describe('daemonset/central-issuer/', () => {
  test('builds with kustomize into valid objects, each file saying why it exists', {
    skip: kubectl() ? false : 'kubectl is not installed',
  }, () => {
    const built = execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
    const objects = parseAllDocuments(built).map((d) => d.toJS() as Record<string, unknown>);
    assert.ok(objects.length >= 7);
    for (const object of objects)
      assert.deepEqual(validateManifest(object), [], `${String(object.kind)} ${JSON.stringify(object.metadata)}`);
    for (const doc of docs) assert.notEqual(doc.comment.trim(), '', `${doc.file} has no comment saying why it exists`);
  });

  test('the issuer runs `svid-agent issuer` with flags it accepts, a configuration it would start with', () => {
    assert.deepEqual(args.command, ['issuer']);
    for (const name of args.flags.keys()) assert.ok(ISSUER_FLAGS.includes(name), `svid-agent issuer has no flag --${name}`);
    const config = issuerConfig;
    assert.equal(config.plaintext, false, 'TLS: agents send their tokens to it');
    assert.notEqual(config.agentAudience, config.tokenAudience);
    assert.deepEqual(config.agentServiceAccount, { namespace: 'svid-agent', name: 'svid-agent' });
    const listenPort = Number(config.listen.split(':').pop());
    assert.equal(resolvePort(container, 'node-service'), listenPort);
    const service = ofKind('Service')[0]?.value as {
      spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> };
    };
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v, 'the Service selects the issuer pods');
    assert.equal(resolvePort(container, service.spec.ports[0]?.targetPort), listenPort);
    const health = Number(config.healthAddr.split(':').pop());
    assert.equal(resolvePort(container, container.livenessProbe?.httpGet?.port), health);
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
  });

  test('two replicas, never on one node, only on labelled nodes, and a budget that keeps one', () => {
    assert.equal(issuer.spec.replicas, 2);
    assert.deepEqual(issuer.pod.nodeSelector, { [ISSUER_NODE_LABEL]: 'true' });
    const anti = issuer.pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0];
    assert.equal(anti?.topologyKey, 'kubernetes.io/hostname');
    for (const [k, v] of Object.entries(anti?.labelSelector?.matchLabels ?? {})) assert.equal(podLabels[k], v);
    const pdb = ofKind('PodDisruptionBudget')[0]?.value as {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    assert.equal(pdb.spec.minAvailable, 1);
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(podLabels[k], v);
    assert.match(
      readFileSync(join(REPO, 'docs', 'central-issuer.md'), 'utf8'),
      new RegExp(`kubectl label node \\S+ ${ISSUER_NODE_LABEL}=true`),
    );
  });

  test('least privilege: the issuer may create tokenreviews and ask whether it may, nothing else', () => {
    const role = ofKind('ClusterRole').find((d) => (d.value.metadata as { name: string }).name === 'svid-issuer')?.value as {
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    assert.deepEqual(role.rules, [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'], verbs: ['create'] },
    ]);
    const binding = ofKind('ClusterRoleBinding').find((d) => (d.value.roleRef as { name: string }).name === 'svid-issuer')?.value as {
      subjects: unknown[];
    };
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: issuer.pod.serviceAccountName, namespace: issuer.namespace }]);
  });

  test('the signing keys are mounted in the issuer alone, whole, where its flags point; it runs unprivileged', () => {
    for (const w of workloads(docs).filter((w) => w.file !== issuer.file)) {
      const secrets = (w.pod.volumes ?? []).map((v) => v.secret?.secretName);
      assert.deepEqual(
        secrets.filter((s) => s !== undefined && SIGNING_SECRETS.includes(s)),
        [],
        `${w.file} mounts a signing key`,
      );
    }
    const mountOf = (volume: string) => container.volumeMounts?.find((m) => m.name === volume);
    assert.equal(flag(args.flags, 'issuer-dir'), mountOf('issuer')?.mountPath);
    assert.equal(volumeNamed(issuer.pod, 'issuer').secret?.items, undefined, 'both Linkerd issuer layouts reach it');
    const jwt = volumeNamed(issuer.pod, 'jwt-key').secret;
    assert.equal(flag(args.flags, 'jwt-key'), posix.join(mountOf('jwt-key')?.mountPath ?? '', jwt?.items?.[0]?.path ?? ''));
    for (const m of container.volumeMounts ?? []) assert.equal(m.subPath, undefined, `${m.name} must be mounted whole so updates reach it`);
    assert.equal(issuer.pod.securityContext?.runAsNonRoot, true);
    assert.equal(issuer.pod.hostPID ?? false, false);
    assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
  });

  test('the agent runs `svid-agent run --issuer-addr` with flags it accepts, pointing at the issuer Service and name', () => {
    assert.deepEqual(agentArgs.command, ['run']);
    for (const name of agentArgs.flags.keys()) assert.ok(RUN_FLAGS.includes(name as never), `svid-agent run has no flag --${name}`);
    const config = loadRunConfig({ flags: camelFlags(agentArgs.flags, { NODE_NAME: 'node-a' }), env: {}, cwd: '/', readFile: () => '' });
    assert.equal(config.attestor, 'k8s');
    assert.equal(config.nodeName, 'node-a');
    assert.equal(agentContainer.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
    assert.equal(config.issuerDir, undefined, 'no issuer of its own');
    assert.equal(config.jwtKey, undefined, 'no JWT key of its own');
    const central = config.centralIssuer;
    assert.ok(central, '--issuer-addr is set');
    assert.equal(central.plaintext, false, 'TLS: the agent sends tokens');
    assert.equal(central.serverName, issuerConfig.serverName, 'the agent expects the name the issuer serves under');
    const service = ofKind('Service')[0]?.value as {
      metadata: { name: string; namespace: string };
      spec: { ports: Array<{ port: number }> };
    };
    assert.equal(central.address, `${service.metadata.name}.${service.metadata.namespace}.svc:${service.spec.ports[0]?.port}`);
    assert.equal(flag(agentArgs.flags, 'trust-anchors'), flag(args.flags, 'trust-anchors'), 'both verify against the same anchors');
  });

  test('the agent’s own projected token: at --agent-token-path, for the issuer’s agent audience, never the workloads’', () => {
    const central = loadRunConfig({
      flags: camelFlags(agentArgs.flags, { NODE_NAME: 'node-a' }),
      env: {},
      cwd: '/',
      readFile: () => '',
    }).centralIssuer;
    const projected = (agent.pod.volumes ?? []).flatMap((v) =>
      (v.projected?.sources ?? []).flatMap((s) => (s.serviceAccountToken ? [{ volume: v.name, token: s.serviceAccountToken }] : [])),
    );
    assert.equal(projected.length, 1);
    const [{ volume, token }] = projected as [(typeof projected)[number]];
    const mount = agentContainer.volumeMounts?.find((m) => m.name === volume);
    assert.equal(mount?.subPath, undefined, 'mounted whole, so the rotated token reaches the agent');
    assert.equal(posix.join(mount?.mountPath ?? '', token.path), central?.agentTokenPath);
    assert.equal(token.audience, issuerConfig.agentAudience);
    assert.notEqual(token.audience, issuerConfig.tokenAudience, 'an agent token cannot pass for a workload token');
    assert.deepEqual(issuerConfig.agentServiceAccount, { namespace: agent.namespace, name: agent.pod.serviceAccountName });
  });

  test('least privilege: the agent mounts no Secret and no API token, and no role is bound to its account', () => {
    assert.deepEqual(
      (agent.pod.volumes ?? []).filter((v) => v.secret !== undefined).map((v) => v.name),
      [],
      'no Secret of any kind',
    );
    assert.equal(agent.pod.automountServiceAccountToken, false, 'it calls no Kubernetes API');
    const account = docs.find(
      (d) => d.value.kind === 'ServiceAccount' && (d.value.metadata as { name: string }).name === agent.pod.serviceAccountName,
    );
    assert.ok(account, 'its ServiceAccount is defined');
    assert.equal(account.value.automountServiceAccountToken, false);
    for (const binding of [...ofKind('ClusterRoleBinding'), ...ofKind('RoleBinding')]) {
      const subjects = (binding.value.subjects ?? []) as Array<{ kind: string; name: string }>;
      assert.ok(
        !subjects.some((s) => s.kind === 'ServiceAccount' && s.name === agent.pod.serviceAccountName),
        `${binding.file} binds the agent`,
      );
    }
    assert.equal(agent.pod.hostPID, true, 'it reads callers’ cgroups and tokens through the host /proc');
    assert.deepEqual(agentContainer.securityContext?.capabilities, { drop: ['ALL'], add: ['SYS_PTRACE', 'DAC_READ_SEARCH'] });
  });
});
