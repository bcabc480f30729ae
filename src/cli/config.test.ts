import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AgentError } from '../errors.js';
import { loadRunConfig, RUN_FLAGS, type RunFlags } from './config.js';
import { ConfigError } from './exit.js';
import type { RunConfig } from './run-config.js';

const CWD = '/work/app';
const REQUIRED: RunFlags = { trustAnchors: '/etc/roots.pem', issuerDir: '/etc/issuer' };
const NODE_ENV = { NODE_NAME: 'node-1' };

interface Input {
  flags?: RunFlags;
  env?: Record<string, string | undefined>;
  /** Contents of `agent.yaml`; sets `--config agent.yaml` unless flags name another file. */
  file?: string;
}

function load(input: Input): RunConfig {
  const files = new Map<string, string>();
  const flags: RunFlags = { ...input.flags };
  if (input.file !== undefined) {
    files.set(`${CWD}/agent.yaml`, input.file);
    if (flags.config === undefined) Object.assign(flags, { config: 'agent.yaml' });
  }
  return loadRunConfig({
    flags,
    env: input.env ?? {},
    cwd: CWD,
    readFile: (path) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
  });
}

function problemsOf(input: Input): readonly string[] {
  try {
    load(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

function assertProblem(input: Input, expected: RegExp): void {
  const problems = problemsOf(input);
  assert.ok(
    problems.some((p) => expected.test(p)),
    `no problem matches ${expected}:\n  ${problems.join('\n  ')}`,
  );
}

describe('loadRunConfig defaults', () => {
  it('fills every default of docs/configuration.md', () => {
    const config = load({ flags: REQUIRED, env: NODE_ENV });
    assert.deepEqual(config, {
      dev: false,
      devDir: '/work/app/.svid-agent',
      socket: '/run/svid-agent/agent.sock',
      trustDomain: 'cluster.local',
      trustAnchors: '/etc/roots.pem',
      issuerDir: '/etc/issuer',
      jwtKey: undefined,
      attestor: 'k8s',
      kubeconfig: undefined,
      nodeName: 'node-1',
      procRoot: '/proc',
      tokenPaths: ['/var/run/secrets/tokens/linkerd-identity-token'],
      tokenAudience: 'identity.l5d.io',
      identityDomain: 'identity.linkerd.cluster.local',
      svidTtlMs: 86_400_000,
      jwtTtlMs: 300_000,
      clockSkewMs: 20_000,
      minRefreshMs: 10_000,
      maxRefreshMs: 86_400_000,
      svidIdleTtlMs: 60_000,
      maxConnections: 1024,
      maxCallerConnections: 128,
      maxStreams: 4096,
      maxCallerStreams: 1024,
      shutdownTimeoutMs: 5_000,
      centralIssuer: undefined,
      healthAddr: '',
      logLevel: 'info',
    });
    assert.ok(Object.isFrozen(config));
  });

  it('--dev needs no files, no node name, and uses the local socket and the unix attestor', () => {
    const config = load({ flags: { dev: true } });
    assert.equal(config.dev, true);
    assert.equal(config.devDir, '/work/app/.svid-agent');
    assert.equal(config.socket, '/work/app/.svid-agent/agent.sock');
    assert.equal(config.attestor, 'unix');
    assert.equal(config.trustAnchors, '/work/app/.svid-agent/credentials/ca-bundle.crt');
    assert.equal(config.issuerDir, '/work/app/.svid-agent/credentials/issuer');
    assert.equal(config.jwtKey, '/work/app/.svid-agent/credentials/jwt.key');
  });

  it('--dev from the file works like the flag', () => {
    assert.equal(load({ file: 'dev: true\n' }).attestor, 'unix');
  });

  it('--dev still lets the socket and the attestor be chosen', () => {
    const config = load({ flags: { dev: true, socket: 'x.sock', attestor: 'k8s', nodeName: 'n1' } });
    assert.equal(config.socket, '/work/app/x.sock');
    assert.equal(config.attestor, 'k8s');
  });
});

describe('loadRunConfig: the identity domain follows the trust domain', () => {
  it('--trust-domain prod.example without --identity-domain gives identity.linkerd.prod.example', () => {
    assert.equal(
      load({ flags: { ...REQUIRED, trustDomain: 'prod.example' }, env: NODE_ENV }).identityDomain,
      'identity.linkerd.prod.example',
    );
  });

  it('a trust domain from the file moves the default too', () => {
    assert.equal(
      load({ flags: REQUIRED, env: NODE_ENV, file: 'trustDomain: file.example\n' }).identityDomain,
      'identity.linkerd.file.example',
    );
  });

  it('an explicit identity domain wins, from a flag or the file', () => {
    const flags = { ...REQUIRED, trustDomain: 'prod.example', identityDomain: 'identity.mesh.prod.example' };
    assert.equal(load({ flags, env: NODE_ENV }).identityDomain, 'identity.mesh.prod.example');
    const file = 'trustDomain: prod.example\nidentityDomain: identity.linkerd.cluster.local\n';
    assert.equal(load({ flags: REQUIRED, env: NODE_ENV, file }).identityDomain, 'identity.linkerd.cluster.local');
  });

  it('a trust domain that makes no DNS name asks for --identity-domain', () => {
    assertProblem(
      { flags: { ...REQUIRED, trustDomain: 'my_domain' }, env: NODE_ENV },
      /^--identity-domain: the default identity domain "identity\.linkerd\.my_domain" \(identity\.linkerd\.<trust domain>\) is not a DNS-1123 subdomain; set --identity-domain$/,
    );
    const config = load({ flags: { ...REQUIRED, trustDomain: 'my_domain', identityDomain: 'identity.linkerd.my-domain' }, env: NODE_ENV });
    assert.equal(config.identityDomain, 'identity.linkerd.my-domain');
    assert.deepEqual(
      problemsOf({ flags: { ...REQUIRED, trustDomain: 'Bad Domain' }, env: NODE_ENV }).length,
      1,
      'one problem, the trust domain',
    );
  });
});

describe('loadRunConfig precedence: flags > env > file > defaults', () => {
  const file = 'socket: /from/file.sock\nnodeName: file-node\nsvidTtl: 2h\ntrustDomain: file.example\n';
  const env = { SVID_AGENT_SOCKET: '/from/env.sock', NODE_NAME: 'env-node' };

  it('a flag beats env and file', () => {
    const config = load({ flags: { ...REQUIRED, socket: '/from/flag.sock', nodeName: 'flag-node', svidTtl: '3h' }, env, file });
    assert.equal(config.socket, '/from/flag.sock');
    assert.equal(config.nodeName, 'flag-node');
    assert.equal(config.svidTtlMs, 3 * 3_600_000);
  });

  it('env beats the file', () => {
    const config = load({ flags: REQUIRED, env, file });
    assert.equal(config.socket, '/from/env.sock');
    assert.equal(config.nodeName, 'env-node');
  });

  it('the file beats defaults', () => {
    const config = load({ flags: REQUIRED, file });
    assert.equal(config.socket, '/from/file.sock');
    assert.equal(config.nodeName, 'file-node');
    assert.equal(config.svidTtlMs, 2 * 3_600_000);
    assert.equal(config.trustDomain, 'file.example');
  });

  it('an empty environment variable counts as unset', () => {
    assert.equal(load({ flags: REQUIRED, env: { SVID_AGENT_SOCKET: '', NODE_NAME: '' }, file }).nodeName, 'file-node');
  });

  it('repeated --token-path flags replace the file list', () => {
    const config = load({
      flags: { ...REQUIRED, tokenPath: ['/a', '/b', '/a'] },
      env: NODE_ENV,
      file: 'tokenPath: [/from/file]\n',
    });
    assert.deepEqual(config.tokenPaths, ['/a', '/b']);
    assert.deepEqual(load({ flags: REQUIRED, env: NODE_ENV, file: 'tokenPath: [/x, /y]\n' }).tokenPaths, ['/x', '/y']);
  });

  it('resolves relative paths against cwd', () => {
    const config = load({
      flags: { trustAnchors: 'roots.pem', issuerDir: '../issuer', procRoot: 'fake/proc', socket: 's.sock' },
      env: NODE_ENV,
    });
    assert.equal(config.trustAnchors, '/work/app/roots.pem');
    assert.equal(config.issuerDir, '/work/issuer');
    assert.equal(config.procRoot, '/work/app/fake/proc');
    assert.equal(config.socket, '/work/app/s.sock');
  });

  it('accepts a unix: URI as the socket', () => {
    assert.equal(load({ flags: { ...REQUIRED, socket: 'unix:///run/a.sock' }, env: NODE_ENV }).socket, '/run/a.sock');
  });

  it('parses durations once, into ms', () => {
    const config = load({
      flags: { ...REQUIRED, svidTtl: '1h30m', clockSkew: '0', minRefresh: '500ms', maxRefresh: '2d', svidIdleTtl: '0' },
      env: NODE_ENV,
    });
    assert.equal(config.svidIdleTtlMs, 0, '--svid-idle-ttl 0 turns idle keeping off');
    assert.equal(config.svidTtlMs, 5_400_000);
    assert.equal(config.clockSkewMs, 0);
    assert.equal(config.minRefreshMs, 500);
    assert.equal(config.maxRefreshMs, 2 * 86_400_000);
  });

  it('loads the annotated reference config, which holds every file key', () => {
    const text = readFileSync(new URL('../../config/agent-full.yaml', import.meta.url), 'utf8');
    const config = load({ file: text });
    assert.equal(config.svidTtlMs, 86_400_000);
    assert.equal(config.jwtKey, '/work/app/certs/jwt.key');
    assert.equal(config.healthAddr, '');
    for (const flag of RUN_FLAGS) {
      if (flag === 'config') continue;
      const key = flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      assert.match(text, new RegExp(`^#? ?${key}:`, 'm'), `agent-full.yaml does not document ${key}`);
    }
  });
});

describe('loadRunConfig errors name their key', () => {
  const cases: Array<[string, Input, RegExp]> = [
    ['bad duration flag', { flags: { svidTtl: '5x' } }, /^--svid-ttl: invalid duration "5x"/],
    ['bad duration in file', { file: 'svidTtl: 5x\n' }, /^agent\.yaml: svidTtl: invalid duration "5x"/],
    ['attestor', { flags: { attestor: 'docker' } }, /^--attestor: must be k8s or unix, got "docker"/],
    ['log level', { file: 'logLevel: loud\n' }, /^agent\.yaml: logLevel: must be one of trace, debug/],
    ['health addr', { flags: { healthAddr: '9090' } }, /^--health-addr: "9090": expected HOST:PORT/],
    ['trust domain', { flags: { trustDomain: 'Bad Domain' } }, /^--trust-domain: invalid trust domain "Bad Domain"/],
    ['identity domain', { flags: { identityDomain: 'under_score.local' } }, /^--identity-domain: invalid identity domain/],
    ['node name', { env: { NODE_NAME: 'Node_1' } }, /^NODE_NAME: invalid node name "Node_1"/],
    ['empty socket', { flags: { socket: '' } }, /^--socket: must not be empty/],
    ['socket env URI', { env: { SVID_AGENT_SOCKET: 'tcp://1.2.3.4:1' } }, /^SVID_AGENT_SOCKET: unsupported scheme "tcp:"/],
    ['long socket', { flags: { socket: `/${'s'.repeat(120)}` } }, /^--socket: socket path is 121 bytes long/],
    ['trust anchors missing', { flags: { issuerDir: '/i' } }, /^--trust-anchors: required unless --dev/],
    ['issuer dir missing', { flags: { trustAnchors: '/t' } }, /^--issuer-dir: required unless --dev/],
    ['node name missing for k8s', { flags: REQUIRED }, /^--node-name: required with the k8s attestor/],
    ['dev with own anchors', { flags: { dev: true, trustAnchors: '/t' } }, /^--trust-anchors: cannot be combined with --dev/],
    ['dev with file jwt key', { flags: { dev: true }, file: 'jwtKey: /k\n' }, /^agent\.yaml: jwtKey: cannot be combined with --dev/],
    ['relative token path', { flags: { tokenPath: ['token'] } }, /^--token-path: "token" is not an absolute path/],
    ['empty token path list', { file: 'tokenPath: []\n' }, /^agent\.yaml: tokenPath: must name at least one path/],
    ['empty audience', { flags: { tokenAudience: '' } }, /^--token-audience: must not be empty/],
    ['min over max', { flags: { minRefresh: '2h', maxRefresh: '1h' } }, /^--min-refresh: must not be longer than --max-refresh \(1h\)/],
    [
      'min over default max',
      { file: 'minRefresh: 2d\nsvidTtl: 3d\n' },
      /^agent\.yaml: minRefresh: must not be longer than --max-refresh \(24h\)/,
    ],
    ['ttl not over skew', { flags: { svidTtl: '10s', clockSkew: '10s' } }, /^--svid-ttl: must be longer than --clock-skew \(10s\)/],
    ['min refresh not under ttl', { flags: { svidTtl: '1m', minRefresh: '1m' } }, /^--min-refresh: must be shorter than --svid-ttl \(1m\)/],
    ['zero ttl', { flags: { svidTtl: '0' } }, /^--svid-ttl: must be longer than 0/],
    ['zero connections', { flags: { maxConnections: '0' } }, /^--max-connections: must be a whole number from 1 to 1000000, got "0"/],
    ['not a count', { file: 'maxStreams: 1.5\n' }, /^agent\.yaml: maxStreams: expected a whole number, got the number 1\.5/],
    [
      'a count as text',
      { flags: { maxCallerStreams: 'ten' } },
      /^--max-caller-streams: must be a whole number from 1 to 1000000, got "ten"/,
    ],
    ['short jwt ttl', { flags: { jwtTtl: '500ms' } }, /^--jwt-ttl: must be at least 1s/],
    ['timer overflow', { flags: { maxRefresh: '30d' } }, /^--max-refresh: must be at most 24d/],
    ['unreadable config', { flags: { config: 'missing.yaml' } }, /^--config: cannot read "missing\.yaml": no such file or directory$/],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assertProblem(input, expected));
  }

  it('throws a ConfigError: an AgentError with code CONFIG_INVALID', () => {
    try {
      load({ flags: { svidTtl: 'x' } });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof AgentError);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.name, 'ConfigError');
    }
  });

  it('reports all problems at once, from flags, env and file', () => {
    const problems = problemsOf({
      flags: { svidTtl: '5x', attestor: 'nope' },
      env: { SVID_AGENT_SOCKET: 'http://x' },
      file: 'logLevel: loud\nclockSkew: 20\nbogus: 1\n',
    });
    assert.deepEqual(
      problems.map((p) => p.slice(0, p.indexOf(':', p.startsWith('agent.yaml') ? 11 : 0))),
      [
        'agent.yaml: clockSkew',
        'agent.yaml: bogus',
        'SVID_AGENT_SOCKET',
        '--trust-anchors',
        '--issuer-dir',
        '--attestor',
        '--svid-ttl',
        'agent.yaml: logLevel',
      ],
    );
  });
});

describe('a config file that fails brings no follow-on problems', () => {
  it('unreadable: only that', () => {
    assert.deepEqual(problemsOf({ flags: { config: 'missing.yaml' } }), [
      '--config: cannot read "missing.yaml": no such file or directory',
    ]);
  });

  it('not YAML, or not a mapping: only that, although flags say nothing of the required keys', () => {
    const broken = problemsOf({ file: 'trustAnchors: [unclosed\n' });
    assert.equal(broken.length, 1, broken.join('\n'));
    assert.match(broken[0] ?? '', /^agent\.yaml: invalid YAML at line 2, column 1: /);
    assert.deepEqual(problemsOf({ file: '- a\n' }), ['agent.yaml: expected a mapping of options at the top level, got a list']);
  });

  it('a key of the wrong type is reported once, not also as missing', () => {
    assert.deepEqual(problemsOf({ file: 'trustAnchors: 5\nissuerDir: /i\nnodeName: 7\n' }), [
      'agent.yaml: trustAnchors: expected a string, got the number 5 (quote it: "5")',
      'agent.yaml: nodeName: expected a string, got the number 7 (quote it: "7")',
    ]);
    assert.deepEqual(problemsOf({ file: 'dev: "yes"\n' }), ['agent.yaml: dev: expected true or false, got a string']);
  });
});

describe('config file types', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['number for a string', 'trustDomain: 123\n', /^agent\.yaml: trustDomain: expected a string, got the number 123 \(quote it: "123"\)/],
    ['number for a duration', 'svidTtl: 60\n', /^agent\.yaml: svidTtl: expected a duration string like "90s", got the number 60/],
    ['list for a scalar', 'socket: [/a, /b]\n', /^agent\.yaml: socket: expected a string, got a list/],
    ['mapping for a scalar', 'socket: {path: /a}\n', /^agent\.yaml: socket: expected a string, got a mapping/],
    ['no value', 'healthAddr:\n', /^agent\.yaml: healthAddr: expected a string, got no value \(write "" for an empty value\)/],
    ['string for a list', 'tokenPath: /a\n', /^agent\.yaml: tokenPath: expected a list of strings, got a string \(write \["\/a"\]\)/],
    ['bad list item', 'tokenPath: [/a, 7]\n', /^agent\.yaml: tokenPath\[1\]: expected a string, got the number 7/],
    ['string for a boolean', 'dev: "yes"\n', /^agent\.yaml: dev: expected true or false, got a string/],
    ['unknown key', 'frobnicate: true\n', /^agent\.yaml: frobnicate: unknown key$/],
    ['kebab-case key', 'trust-domain: x\n', /^agent\.yaml: trust-domain: unknown key \(did you mean trustDomain\?\)/],
    ['RunConfig name', 'tokenPaths: [/a]\n', /^agent\.yaml: tokenPaths: unknown key \(did you mean tokenPath\?\)/],
    ['config key', 'config: other.yaml\n', /^agent\.yaml: config: unknown key \(a config file cannot name another one\)/],
    ['syntax error', 'a: [1\n', /^agent\.yaml: invalid YAML at line 2, column 1:/],
    ['duplicate key', 'svidTtl: 1h\nsvidTtl: 2h\n', /^agent\.yaml: invalid YAML at line 2, column 1: Map keys must be unique/],
    ['top-level list', '- a\n', /^agent\.yaml: expected a mapping of options at the top level, got a list/],
    ['unresolved alias', 'socket: *nope\n', /^agent\.yaml: invalid YAML: /],
    // Issue 15 (fuzzing): 16,000 nested [ made the YAML parser abort the process out of memory.
    ['deep nesting', `socket: ${'['.repeat(16_000)}${']'.repeat(16_000)}\n`, /^agent\.yaml: collections nested deeper than 32 levels$/],
    ['oversized file', `# ${'x'.repeat(64 * 1024)}\n`, /^agent\.yaml: larger than 65536 characters$/],
    ['mapping as a key', '? [a, b]\n: x\n', /unknown key/],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assertProblem({ file: text, flags: { dev: true } }, expected));
  }

  it('an empty file or one with only comments is fine', () => {
    assert.equal(load({ file: '', flags: { dev: true } }).dev, true);
    assert.equal(load({ file: '# nothing\n', flags: { dev: true } }).dev, true);
  });

  it('brackets inside quotes and comments are not nesting', () => {
    const text = `socket: "${'['.repeat(40)}"\n# ${'{'.repeat(40)}\ntokenPath: ['/${'['.repeat(40)}']\n`;
    const config = load({ file: text, flags: { dev: true } });
    assert.equal(config.tokenPaths[0], `/${'['.repeat(40)}`);
  });

  it('`healthAddr: ""` turns the listener off', () => {
    assert.equal(load({ file: 'healthAddr: ""\n', flags: { dev: true } }).healthAddr, '');
  });
});
