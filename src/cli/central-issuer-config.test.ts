import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_AGENT_TOKEN_PATH } from './central-issuer-config.js';
import { loadRunConfig, type RunFlags } from './config.js';
import { ConfigError } from './exit.js';
import { isLoopbackHost } from './host-port.js';

const CENTRAL: RunFlags = { trustAnchors: '/etc/roots.pem', issuerAddr: 'svid-agent-issuer.svid-agent.svc:8080' };
const ENV = { NODE_NAME: 'node-1' };

function load(flags: RunFlags, file?: string) {
  return loadRunConfig({
    flags: file === undefined ? flags : { ...flags, config: 'agent.yaml' },
    env: ENV,
    cwd: '/work/app',
    readFile: () => file ?? '',
  });
}

function problemsOf(flags: RunFlags, file?: string): readonly string[] {
  try {
    load(flags, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return assert.fail('expected a ConfigError');
}

describe('run --issuer-addr', () => {
  it('needs no issuer directory and fills the defaults', () => {
    const config = load(CENTRAL);
    assert.equal(config.issuerDir, undefined);
    assert.equal(config.jwtKey, undefined);
    assert.deepEqual(config.centralIssuer, {
      address: 'svid-agent-issuer.svid-agent.svc:8080',
      serverName: 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local',
      plaintext: false,
      agentTokenPath: DEFAULT_AGENT_TOKEN_PATH,
    });
  });

  it('derives the server name from the identity domain, and takes one given', () => {
    const derived = load({ ...CENTRAL, identityDomain: 'identity.mesh.prod.example' }).centralIssuer;
    assert.equal(derived?.serverName, 'linkerd-identity.mesh.serviceaccount.identity.mesh.prod.example');
    assert.equal(load({ ...CENTRAL, issuerServerName: 'issuer.example' }).centralIssuer?.serverName, 'issuer.example');
  });

  it('reads the same keys from a file', () => {
    const file = 'issuerAddr: 127.0.0.1:8080\nissuerPlaintext: true\nagentTokenPath: token\n';
    const config = load({ trustAnchors: '/etc/roots.pem' }, file);
    assert.deepEqual(config.centralIssuer, {
      address: '127.0.0.1:8080',
      serverName: 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local',
      plaintext: true,
      agentTokenPath: '/work/app/token',
    });
  });

  const refusals: Array<[string, RunFlags, string]> = [
    [
      'with --issuer-dir',
      { ...CENTRAL, issuerDir: '/i' },
      '--issuer-addr: cannot be combined with --issuer-dir: the central issuer signs, and this agent holds no signing key',
    ],
    [
      'with --jwt-key',
      { ...CENTRAL, jwtKey: '/k' },
      '--issuer-addr: cannot be combined with --jwt-key: the central issuer mints JWT-SVIDs, and this agent holds no JWT key',
    ],
    [
      'with --dev',
      { issuerAddr: '127.0.0.1:8080', dev: true },
      '--issuer-addr: cannot be combined with --dev: dev mode signs with credentials of its own',
    ],
    [
      'with --attestor unix',
      { ...CENTRAL, attestor: 'unix' },
      "--issuer-addr: cannot be combined with --attestor unix: the issuer checks each workload's own token, and the unix attestor has none to forward (use the k8s attestor)",
    ],
    [
      'plaintext to another host',
      { ...CENTRAL, issuerPlaintext: true },
      '--issuer-plaintext: only to a loopback address (localhost, 127.0.0.0/8, ::1), not svid-agent-issuer.svid-agent.svc: tokens would cross the network in the clear',
    ],
    [
      'not HOST:PORT',
      { ...CENTRAL, issuerAddr: 'issuer' },
      '--issuer-addr: "issuer": expected HOST:PORT (e.g. 127.0.0.1:9090 or [::1]:9090)',
    ],
    ['empty', { ...CENTRAL, issuerAddr: '' }, '--issuer-addr: must not be empty'],
    [
      'an identity domain with no control-plane namespace',
      { ...CENTRAL, identityDomain: 'mesh.example' },
      '--issuer-server-name: required: the identity domain "mesh.example" is not identity.<control-plane namespace>.<trust domain>, so the issuer\'s name cannot be derived from it',
    ],
    [
      'a bad server name',
      { ...CENTRAL, issuerServerName: 'Issuer_1' },
      '--issuer-server-name: invalid TLS name "Issuer_1" (expected a DNS-1123 subdomain)',
    ],
    ['an empty token path', { ...CENTRAL, agentTokenPath: '' }, '--agent-token-path: must not be empty'],
    [
      '--issuer-plaintext alone',
      { trustAnchors: '/t', issuerDir: '/i', issuerPlaintext: true },
      '--issuer-plaintext: only means something with --issuer-addr',
    ],
    [
      '--agent-token-path alone',
      { trustAnchors: '/t', issuerDir: '/i', agentTokenPath: '/t' },
      '--agent-token-path: only means something with --issuer-addr',
    ],
  ];
  for (const [name, flags, problem] of refusals) {
    it(`refuses ${name}, naming the pair`, () => assert.deepEqual(problemsOf(flags), [problem]));
  }

  it('still needs the trust anchors (they verify the issuer) and the node name', () => {
    const problems = loadRunConfigProblems({ issuerAddr: '127.0.0.1:1' });
    assert.ok(problems.some((p) => p.startsWith('--trust-anchors: required')));
    assert.ok(problems.some((p) => p.startsWith('--node-name: required')));
    assert.ok(!problems.some((p) => p.startsWith('--issuer-dir')));
  });
});

function loadRunConfigProblems(flags: RunFlags): readonly string[] {
  try {
    loadRunConfig({ flags, env: {}, cwd: '/', readFile: () => '' });
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
}

describe('isLoopbackHost', () => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1']) it(`${host} is`, () => assert.ok(isLoopbackHost(host)));
  for (const host of ['10.0.0.1', '0.0.0.0', '::', 'issuer.svc', '128.0.0.1', '::2'])
    it(`${host} is not`, () => assert.ok(!isLoopbackHost(host)));
});
