/**
 * The overlay that puts svid-agent issuer in place of Linkerd's identity controller
 * (daemonset/linkerd-identity/, docs/linkerd-identity.md): a proxy's default identity address
 * resolves, through the Services Linkerd's chart keeps, to the overlay's pods and the port its
 * issuer listens on, under the name the proxy expects; Linkerd's Deployment never adopts them;
 * the overlay leaves Linkerd's objects to the chart; the Helm post-renderer keeps linkerd-identity
 * at zero through `helm upgrade`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { loadIssuerConfig } from '../src/cli/issuer-config.js';
import { ISSUER_FLAGS } from '../src/cli/issuer-options.js';
import { loadManifests } from './daemonset/manifests.js';
import { validateManifest } from './daemonset/schema.js';
import { flag, parseFlags, resolvePort, volumeNamed, workloads } from './daemonset/workload.js';
import { identityDeploymentSelector, identityPodLabels, identityServices, proxyIdentityEnv, unmatched } from './support/linkerd-chart.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(REPO, 'daemonset', 'linkerd-identity');
const POST_RENDERER = join(DIR, 'helm-post-renderer.sh');

const docs = loadManifests(DIR);
const issuer = workloads(docs).find((w) => w.kind === 'Deployment' && w.name === 'svid-issuer');
assert.ok(issuer, 'daemonset/linkerd-identity/ has the svid-issuer Deployment');
const container = issuer.pod.containers[0];
assert.ok(container && issuer.pod.containers.length === 1);
const args = parseFlags(container.args ?? []);
const template = issuer.spec.template as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
const podLabels = template.metadata.labels;

/** The issuer's configuration from its args, as `svid-agent issuer` would build it. */
function issuerConfig(extra: Record<string, string> = {}) {
  const flags = Object.fromEntries(
    [...args.flags].map(([name, [value]]) => [name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()), value]),
  );
  return loadIssuerConfig({ flags: { ...flags, ...extra }, env: {}, cwd: '/', readFile: () => '' });
}

function kubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const noKubectl = kubectl() ? false : 'kubectl is not installed';

describe('daemonset/linkerd-identity/', () => {
  test("the proxy's default identity address resolves to the overlay's pods and the port the issuer listens on", () => {
    const config = issuerConfig();
    const env = proxyIdentityEnv({ namespace: 'linkerd', clusterDomain: 'cluster.local', trustDomain: config.trustDomain });
    assert.equal(env.LINKERD2_PROXY_IDENTITY_SVC_ADDR, 'linkerd-identity-headless.linkerd.svc.cluster.local.:8080');
    // <service>.<namespace>.svc.<cluster domain>.:<port>
    const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local\.:(\d+)$/.exec(env.LINKERD2_PROXY_IDENTITY_SVC_ADDR);
    assert.ok(match);
    const [, serviceName, namespace, port] = match as unknown as [string, string, string, string];
    assert.equal(issuer.namespace, namespace, 'the overlay runs in the namespace of the address');
    const service = identityServices('linkerd').find((s) => s.name === serviceName && s.namespace === namespace);
    assert.ok(service, `the chart has ${serviceName}.${namespace}`);
    assert.deepEqual(unmatched(service.selector, podLabels), [], 'the Service selects the overlay pods');
    // Headless: DNS answers with the ready pods' IPs and proxies dial them on the address's port.
    assert.equal(service.clusterIP, 'None');
    const listenPort = Number(config.listen.split(':').pop());
    assert.equal(Number(port), listenPort, 'the issuer listens on the port of the address');
    assert.equal(resolvePort(container, 'ident-grpc'), listenPort);
    assert.equal(config.plaintext, false, 'not loopback: TLS, as the proxy expects');
    assert.equal(config.serverName, env.LINKERD2_PROXY_IDENTITY_SVC_NAME, 'the TLS name the proxy checks');
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready', 'only ready pods are in the headless answer');
    // The ClusterIP Service, for central-mode agents (--issuer-addr linkerd-identity.linkerd.svc:8080).
    const clusterIp = identityServices('linkerd').find((s) => s.name === 'linkerd-identity');
    assert.deepEqual(unmatched(clusterIp?.selector ?? {}, podLabels), []);
    assert.equal(resolvePort(container, clusterIp?.ports[0]?.targetPort), listenPort);
  });

  test('in another namespace and trust domain the default server name follows --identity-domain', () => {
    const config = issuerConfig({ trustDomain: 'example.org', identityDomain: 'identity.mesh.example.org' });
    const env = proxyIdentityEnv({ namespace: 'mesh', clusterDomain: 'cluster.local', trustDomain: 'example.org' });
    assert.equal(config.serverName, env.LINKERD2_PROXY_IDENTITY_SVC_NAME);
  });

  test("Linkerd's Deployment never counts the overlay's pods, nor the overlay Linkerd's", () => {
    assert.notDeepEqual(unmatched(identityDeploymentSelector('linkerd'), podLabels), [], 'no linkerd.io/proxy-deployment label');
    const selector = (issuer.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
    assert.notDeepEqual(unmatched(selector, identityPodLabels('linkerd')), []);
    assert.equal(template.metadata.annotations['linkerd.io/inject'], 'disabled', 'no proxy in front of the issuer');
  });

  test("the overlay leaves the chart's objects alone: no Service, Namespace or PodDisruptionBudget", () => {
    const kinds = docs.map((d) => String(d.value.kind));
    for (const kind of ['Service', 'Namespace', 'PodDisruptionBudget']) assert.ok(!kinds.includes(kind), kind);
    for (const d of docs.filter((d) => d.value.kind !== 'Kustomization')) {
      const meta = d.value.metadata as { name: string; namespace?: string };
      assert.ok(!meta.name.startsWith('linkerd-identity'), `${d.file} would take over the chart's ${meta.name}`);
      if (!String(d.value.kind).startsWith('Cluster')) assert.equal(meta.namespace, 'linkerd', d.file);
    }
  });

  test("the issuer runs `svid-agent issuer` on Linkerd's own credentials, mounted whole, unprivileged", () => {
    assert.deepEqual(args.command, ['issuer']);
    for (const name of args.flags.keys()) assert.ok(ISSUER_FLAGS.includes(name), `svid-agent issuer has no flag --${name}`);
    const config = issuerConfig();
    assert.equal(config.tokenAudience, 'identity.l5d.io', "the audience of the proxies' projected tokens");
    assert.equal(config.jwtKey, undefined);
    const mountOf = (volume: string) => container.volumeMounts?.find((m) => m.name === volume)?.mountPath;
    assert.equal(volumeNamed(issuer.pod, 'issuer').secret?.secretName, 'linkerd-identity-issuer');
    assert.equal(volumeNamed(issuer.pod, 'issuer').secret?.items, undefined, 'both Linkerd issuer layouts reach it');
    assert.equal(flag(args.flags, 'issuer-dir'), mountOf('issuer'));
    assert.equal(volumeNamed(issuer.pod, 'trust-roots').configMap?.name, 'linkerd-identity-trust-roots');
    assert.equal(flag(args.flags, 'trust-anchors'), `${mountOf('trust-roots')}/ca-bundle.crt`);
    for (const m of container.volumeMounts ?? []) assert.equal(m.subPath, undefined);
    // The restricted Pod Security level (Linkerd's namespace with its CNI).
    assert.equal(issuer.pod.securityContext?.runAsNonRoot, true);
    assert.equal(issuer.pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(issuer.spec.replicas, 2);
  });

  test('builds with kustomize into valid objects, each file saying why it exists', { skip: noKubectl }, () => {
    const built = execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
    const objects = parseAllDocuments(built).map((d) => d.toJS() as Record<string, unknown>);
    assert.equal(objects.length, 4);
    for (const object of objects) assert.deepEqual(validateManifest(object), [], String(object.kind));
    for (const doc of docs) assert.notEqual(doc.comment.trim(), '', `${doc.file} has no comment saying why it exists`);
  });

  test('the Helm post-renderer keeps linkerd-identity at 0 replicas and leaves everything else as rendered', { skip: noKubectl }, () => {
    const deployment = (name: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'linkerd' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: 'cr.l5d.io/linkerd/controller' }] } },
      },
    });
    const service = identityServices('linkerd')[1];
    const rendered = [
      deployment('linkerd-identity'),
      deployment('linkerd-destination'),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: service?.name, namespace: 'linkerd' },
        spec: { clusterIP: 'None', selector: service?.selector, ports: service?.ports },
      },
    ];
    const input = `# Source: linkerd-control-plane/templates/identity.yaml\n${rendered.map((o) => `---\n${stringify(o)}`).join('')}`;
    const output = execFileSync(POST_RENDERER, { input, encoding: 'utf8' });
    const objects = parseAllDocuments(output).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> },
    );
    const named = (name: string) => objects.find((o) => o.metadata.name === name);
    assert.equal(objects.length, 3);
    assert.equal(named('linkerd-identity')?.spec.replicas, 0);
    assert.deepEqual(named('linkerd-destination'), rendered[1]);
    assert.deepEqual(named('linkerd-identity-headless'), rendered[2]);
  });

  test('docs/linkerd-identity.md gives the swap, the post-renderer and the way back', () => {
    const text = readFileSync(join(REPO, 'docs', 'linkerd-identity.md'), 'utf8');
    assert.match(text, /kubectl apply -k daemonset\/linkerd-identity\//);
    assert.match(text, /kubectl -n linkerd scale deployment\/linkerd-identity --replicas=0/);
    assert.match(text, /--post-renderer daemonset\/linkerd-identity\/helm-post-renderer\.sh/);
    assert.match(text, /kubectl delete -k daemonset\/linkerd-identity\//);
  });
});
