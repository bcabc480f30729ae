import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './exit.js';
import { isLoopbackHost } from './host-port.js';
import { loadIssuerConfig } from './issuer-config.js';

const REQUIRED = { trustAnchors: '/etc/anchors/ca-bundle.crt', issuerDir: '/etc/issuer' };

function load(flags: Record<string, string | boolean>, file?: string) {
  return loadIssuerConfig({
    flags: { ...(file === undefined ? {} : { config: 'issuer.yaml' }), ...flags },
    env: {},
    cwd: '/work',
    readFile: () => file ?? '',
  });
}

function problems(flags: Record<string, string | boolean>, file?: string): readonly string[] {
  try {
    load(flags, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('issuer configuration', () => {
  it('has the documented defaults, the server name derived from the identity domain', () => {
    const config = load(REQUIRED);
    assert.deepEqual(
      { ...config },
      {
        listen: '0.0.0.0:8080',
        plaintext: false,
        serverName: 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local',
        trustDomain: 'cluster.local',
        trustAnchors: '/etc/anchors/ca-bundle.crt',
        issuerDir: '/etc/issuer',
        jwtKey: undefined,
        jwtTtlMs: 300_000,
        identityDomain: 'identity.linkerd.cluster.local',
        svidTtlMs: 86_400_000,
        clockSkewMs: 20_000,
        kubeconfig: undefined,
        tokenAudience: 'identity.l5d.io',
        agentAudience: 'svid-agent',
        agentServiceAccount: { namespace: 'svid-agent', name: 'svid-agent' },
        healthAddr: '',
        shutdownTimeoutMs: 5_000,
        logLevel: 'info',
      },
    );
    assert.equal(
      load({ ...REQUIRED, trustDomain: 'example.org' }).serverName,
      'linkerd-identity.linkerd.serviceaccount.identity.linkerd.example.org',
    );
    assert.equal(
      load({ ...REQUIRED, identityDomain: 'identity.mesh.example.org' }).serverName,
      'linkerd-identity.mesh.serviceaccount.identity.mesh.example.org',
    );
  });

  it('reads a YAML file under flags, relative paths against the working directory', () => {
    const config = load(
      { listen: '127.0.0.1:9443' },
      'trustAnchors: anchors.pem\nissuerDir: issuer\nlisten: 0.0.0.0:1\nagentServiceAccount: kube-system/node-agent\nplaintext: true\n',
    );
    assert.equal(config.listen, '127.0.0.1:9443');
    assert.equal(config.trustAnchors, '/work/anchors.pem');
    assert.deepEqual(config.agentServiceAccount, { namespace: 'kube-system', name: 'node-agent' });
    assert.equal(config.plaintext, true);
    assert.match(
      problems({}, 'bogus: 1\nnodeName: n1\n').join('\n'),
      /issuer\.yaml: bogus: unknown key[\s\S]*issuer\.yaml: nodeName: unknown key/,
    );
  });

  it('reports every problem at once, each naming its key', () => {
    assert.deepEqual(
      problems({ plaintext: true, listen: '10.0.0.1:8080', agentAudience: 'identity.l5d.io', svidTtl: '10s', clockSkew: '20s' }).map((p) =>
        p.slice(0, p.indexOf(':')),
      ),
      ['--plaintext', '--trust-anchors', '--issuer-dir', '--agent-audience', '--svid-ttl'],
    );
    assert.match(problems({ ...REQUIRED, listen: 'nowhere' }).join(), /--listen: "nowhere": expected HOST:PORT/);
    assert.match(problems({ ...REQUIRED, serverName: 'Not A Name' }).join(), /--server-name: invalid server name/);
    assert.match(problems({ ...REQUIRED, agentServiceAccount: 'a/b/c' }).join(), /expected NAMESPACE\/NAME/);
  });

  it('serves h2c only on loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.org', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
    assert.equal(load({ ...REQUIRED, plaintext: true, listen: '[::1]:8080' }).plaintext, true);
  });
});
