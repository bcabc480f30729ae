/**
 * Log hygiene end to end (docs/cli.md, issue 6): real `svid-agent run` processes at `--log-level
 * trace`, driven through representative flows — a dev agent serving X.509- and JWT-SVIDs, health
 * checks and scrapes; `certs create`; a Kubernetes agent against the fake API with projected and
 * bearer tokens, refusals and API failures; a central issuer (`svid-agent issuer`) and a node
 * agent using it, with issuance, renewal on tickets and refusals — and then every line they wrote
 * is checked: JSON, constant messages, and no PEM block, no `BEGIN PRIVATE`, no JWT, no token, key
 * or long binary blob (a ticket, a certificate) in any encoding.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeKubeApi, startFakeKubeApi } from './fakes/kube-api.js';
import { makeTestDir } from './support/agent-harness.js';
import { type ChildEvent, finalStatus } from './support/child.js';
import { type CliProcess, type CliResult, runCli, startCli } from './support/cli-process.js';
import { callAs as callIn } from './support/k8s-world.js';
import {
  createProcFixture,
  type FakeProcess,
  type ProcFixture,
  podCgroup,
  randomContainerId,
  randomPodUid,
} from './support/proc-fixture.js';

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/;
const TOKEN_PATH = '/var/run/secrets/tokens/linkerd-identity-token';
const NODE = 'node-a';
const AUDIENCE = 'log-hygiene-test';

/** Everything the flows produced, and every secret they handled. */
const logs: string[] = [];
const secrets = new Set<string>();
const cliOutputs: Array<{ what: string; text: string; mayHoldJwt: boolean }> = [];

function remember(what: string, r: CliResult, mayHoldJwt = false): CliResult {
  cliOutputs.push(
    { what: `${what} (stderr)`, text: r.stderr, mayHoldJwt: false },
    { what: `${what} (stdout)`, text: r.stdout, mayHoldJwt },
  );
  return r;
}

/** The base64 body of every PEM private key under `dir`: a key logged as PEM or DER base64 shows it. */
async function rememberKeys(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.key$/.test(entry.name)) continue;
    const pem = await readFile(join(entry.parentPath, entry.name), 'utf8');
    const body = pem.split('\n').find((line) => /^[A-Za-z0-9+/]{40,}/.test(line));
    assert.ok(body, `${entry.name} is a PEM key`);
    secrets.add(body.slice(0, 40));
  }
}

async function startAgent(args: string[], cwd: string): Promise<CliProcess> {
  const agent = startCli(['run', '--log-level', 'trace', ...args], { cwd });
  await agent.waitFor(({ stderr }) => stderr.includes('listening on workload api socket'), 'the agent to serve');
  return agent;
}

async function stopAgent(agent: CliProcess): Promise<void> {
  assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());
  logs.push(
    ...agent
      .stderr()
      .split('\n')
      .filter((line) => line !== ''),
  );
}

describe('a dev agent: X.509 and JWT fetches, health checks, scrapes', () => {
  let dir: string;
  let agent: CliProcess;
  let socket: string;

  before(async () => {
    dir = await makeTestDir('svid-agent-logs-');
    agent = await startAgent(['--dev', '--health-addr', '127.0.0.1:0'], dir);
    socket = join(dir, '.svid-agent', 'agent.sock');
  });
  after(async () => {
    await stopAgent(agent);
    await rememberKeys(dir);
    await rm(dir, { recursive: true, force: true });
  });

  test('api fetch x509, with the key written to disk', async () => {
    const r = remember('fetch x509', await runCli(['api', 'fetch', 'x509', '--socket', socket, '--write', 'out'], { cwd: dir }));
    assert.equal(r.code, 0, r.stderr);
  });

  test('api fetch jwt and api validate jwt, good and tampered', async () => {
    const fetched = remember(
      'fetch jwt',
      await runCli(['api', 'fetch', 'jwt', '--audience', AUDIENCE, '--socket', socket], { cwd: dir }),
      true,
    );
    assert.equal(fetched.code, 0, fetched.stderr);
    const token = fetched.stdout.match(new RegExp(JWT.source, 'g'))?.[0] ?? assert.fail(`no token in ${fetched.stdout}`);
    secrets.add(token);
    const valid = remember(
      'validate jwt',
      await runCli(['api', 'validate', 'jwt', '--audience', AUDIENCE, '--svid', token, '--socket', socket], { cwd: dir }),
    );
    assert.equal(valid.code, 0, valid.stderr);
    const tampered = `${token.slice(0, -4)}AAAA`;
    secrets.add(tampered);
    const invalid = remember(
      'validate tampered jwt',
      await runCli(['api', 'validate', 'jwt', '--audience', AUDIENCE, '--svid', tampered, '--socket', socket], { cwd: dir }),
    );
    assert.equal(invalid.code, 1);
  });

  test('healthcheck and HTTP probes leave no log lines', async () => {
    const before = agent.stderr();
    for (let i = 0; i < 3; i++) assert.equal(remember('healthcheck', await runCli(['healthcheck', '--socket', socket])).code, 0);
    const url = /"url":"(http:[^"]+)"/.exec(agent.stderr())?.[1] ?? assert.fail('no http url logged');
    for (const path of ['/live', '/ready', '/metrics', '/nope']) await (await fetch(`${url}${path}`)).text();
    // Log lines are written asynchronously, in order: the first line of a call made after the
    // probes is the first line logged after them.
    assert.equal(remember('fetch', await runCli(['api', 'fetch', 'x509', '--socket', socket])).code, 0);
    await agent.waitFor(({ stderr }) => stderr.slice(before.length).includes('"msg":"attested caller"'), 'the fetch logged');
    assert.match(agent.stderr().slice(before.length).split('\n')[0] ?? '', /"msg":"attested caller"/);
  });
});

describe('certs create, then a Kubernetes agent: tokens accepted, refused, and the API failing', () => {
  let dir: string;
  let api: FakeKubeApi;
  let proc: ProcFixture;
  let agent: CliProcess;
  let socket: string;

  before(async () => {
    dir = await makeTestDir('svid-agent-logs-k8s-');
    const certs = remember('certs create', await runCli(['certs', 'create', '--out', join(dir, 'certs')]));
    assert.equal(certs.code, 0, certs.stderr);
    api = await startFakeKubeApi();
    secrets.add(api.agentToken);
    proc = await createProcFixture();
    socket = join(dir, 'agent.sock');
    agent = await startAgent(
      [
        ...['--attestor', 'k8s', '--kubeconfig', api.kubeconfigPath, '--node-name', NODE, '--proc-root', proc.root],
        ...[
          '--trust-anchors',
          join(dir, 'certs', 'ca-bundle.crt'),
          '--issuer-dir',
          join(dir, 'certs', 'issuer'),
          '--jwt-key',
          join(dir, 'certs', 'jwt.key'),
        ],
        ...['--socket', socket, '--health-addr', ''],
      ],
      dir,
    );
  });
  after(async () => {
    await stopAgent(agent);
    await rememberKeys(dir);
    await api.close();
    await proc.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  /** A pod's projected token, as kubelet mounts it; remembered as a secret. */
  async function pod(options: { audiences?: string[]; expiresInSeconds?: number } = {}) {
    const uid = randomPodUid();
    const token = await api.mintServiceAccountToken({
      namespace: 'emojivoto',
      serviceAccount: 'web',
      pod: { name: 'web-0', uid },
      node: { name: NODE },
      audiences: options.audiences ?? ['identity.l5d.io'],
      expiresInSeconds: options.expiresInSeconds,
    });
    secrets.add(token);
    return { token, cgroup: podCgroup(uid, randomContainerId()) };
  }

  /** A client process placed in a pod by the /proc fixture. */
  const callAs = (process: FakeProcess, args: string[] = []) => callIn({ socketPath: socket, proc }, process, args);

  const code = (events: ChildEvent[]) => finalStatus(events).code;

  test('projected token file and bearer token are accepted', async () => {
    const p = await pod();
    assert.equal(code(await callAs({ cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } })), 0);
    const q = await pod();
    assert.equal(code(await callAs({ cgroup: q.cgroup }, ['--bearer', q.token])), 0);
  });

  test('a JWT-SVID fetched with a bearer token', async () => {
    const p = await pod();
    const events = await callAs({ cgroup: p.cgroup }, [
      '--bearer',
      p.token,
      '--method',
      'FetchJWTSVID',
      '--request',
      JSON.stringify({ audience: [AUDIENCE] }),
    ]);
    assert.equal(code(events), 0, JSON.stringify(finalStatus(events)));
    const svids = events.find((e) => e.event === 'data')?.message?.svids as Array<{ svid: string }>;
    for (const { svid } of svids) secrets.add(svid);
  });

  test('refusals: a token of another pod, no token, an expired token, the wrong audience', async () => {
    const p = await pod();
    const q = await pod();
    assert.equal(code(await callAs({ cgroup: p.cgroup }, ['--bearer', q.token])), 7);
    assert.equal(code(await callAs({ cgroup: p.cgroup })), 7);
    const expired = await pod({ expiresInSeconds: -3600 });
    assert.equal(code(await callAs({ cgroup: expired.cgroup, files: { [TOKEN_PATH]: expired.token } })), 7);
    const wrongAudience = await pod({ audiences: ['https://kubernetes.default.svc'] });
    assert.equal(code(await callAs({ cgroup: wrongAudience.cgroup, files: { [TOKEN_PATH]: wrongAudience.token } })), 7);
  });

  test('the API refusing the agent, then unreachable', async () => {
    const p = await pod();
    try {
      api.fail(401);
      assert.equal(code(await callAs({ cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } })), 14);
      await api.refuse();
      assert.equal(code(await callAs({ cgroup: p.cgroup }, ['--bearer', p.token])), 14);
    } finally {
      await api.restore();
    }
  });
});

describe('a central issuer and a node agent using it: issuance, renewal on tickets, refusals', () => {
  let dir: string;
  let api: FakeKubeApi;
  let proc: ProcFixture;
  let issuer: CliProcess;
  let agent: CliProcess;
  let socket: string;
  let agentTokenPath: string;

  /** A token bound to a pod on `node`; remembered as a secret. */
  async function token(o: { ns: string; sa: string; node: string; audience: string }): Promise<{ uid: string; token: string }> {
    const uid = randomPodUid();
    const minted = await api.mintServiceAccountToken({
      namespace: o.ns,
      serviceAccount: o.sa,
      pod: { name: `${o.sa}-0`, uid },
      node: { name: o.node },
      audiences: [o.audience],
    });
    secrets.add(minted);
    return { uid, token: minted };
  }
  const agentToken = (audience = 'svid-agent') => token({ ns: 'svid-agent', sa: 'svid-agent', node: NODE, audience });
  const workload = async (node = NODE): Promise<FakeProcess> => {
    const t = await token({ ns: 'emojivoto', sa: 'web', node, audience: 'identity.l5d.io' });
    return { cgroup: podCgroup(t.uid, randomContainerId()), files: { [TOKEN_PATH]: t.token } };
  };

  /** A client process placed in a pod by the /proc fixture. */
  const callAs = (process: FakeProcess, args: string[] = []) => callIn({ socketPath: socket, proc }, process, args);
  const code = (events: ChildEvent[]) => finalStatus(events).code;

  before(async () => {
    dir = await makeTestDir('svid-agent-logs-central-');
    const certs = remember('certs create', await runCli(['certs', 'create', '--out', join(dir, 'certs')]));
    assert.equal(certs.code, 0, certs.stderr);
    api = await startFakeKubeApi();
    secrets.add(api.agentToken);
    proc = await createProcFixture();
    issuer = startCli(
      [
        ...['issuer', '--log-level', 'trace', '--listen', '127.0.0.1:0', '--kubeconfig', api.kubeconfigPath],
        ...['--trust-anchors', join(dir, 'certs', 'ca-bundle.crt'), '--issuer-dir', join(dir, 'certs', 'issuer')],
        ...['--jwt-key', join(dir, 'certs', 'jwt.key'), '--svid-ttl', '8s', '--clock-skew', '0s'],
      ],
      { cwd: dir },
    );
    await issuer.waitFor(({ stderr }) => stderr.includes('central issuer serving'), 'the issuer to serve');
    const serving = issuer
      .stderr()
      .split('\n')
      .find((line) => line.includes('"central issuer serving"'));
    const port = serving ? (JSON.parse(serving) as { port?: number }).port : undefined;
    assert.ok(port, issuer.stderr());
    agentTokenPath = join(dir, 'agent-token');
    await writeFile(agentTokenPath, (await agentToken()).token);
    socket = join(dir, 'agent.sock');
    agent = await startAgent(
      [
        ...['--attestor', 'k8s', '--node-name', NODE, '--proc-root', proc.root, '--min-refresh', '1s'],
        ...['--trust-anchors', join(dir, 'certs', 'ca-bundle.crt'), '--issuer-addr', `127.0.0.1:${port}`],
        ...['--agent-token-path', agentTokenPath, '--socket', socket, '--health-addr', ''],
      ],
      dir,
    );
  });
  after(async () => {
    await stopAgent(agent);
    await stopAgent(issuer);
    await rememberKeys(dir);
    await api.close();
    await proc.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('an X.509-SVID renewed twice on its ticket and a fresh token, and a JWT-SVID', async () => {
    const pod = await workload();
    const held = await callAs(pod, ['--count', '3', '--timeout', '60000']);
    assert.equal(held.filter((e) => e.event === 'data').length, 3, JSON.stringify(held));
    const events = await callAs(pod, ['--method', 'FetchJWTSVID', '--request', JSON.stringify({ audience: [AUDIENCE] })]);
    assert.equal(code(events), 0, JSON.stringify(finalStatus(events)));
    const svids = events.find((e) => e.event === 'data')?.message?.svids as Array<{ svid: string }>;
    for (const { svid } of svids) secrets.add(svid);
  });

  test('refusals: a token of another node, the issuer’s own name, an agent token of the wrong audience', async () => {
    assert.equal(code(await callAs(await workload('node-b'))), 7);
    const own = await token({ ns: 'linkerd', sa: 'linkerd-identity', node: NODE, audience: 'identity.l5d.io' });
    assert.equal(code(await callAs({ cgroup: podCgroup(own.uid, randomContainerId()), files: { [TOKEN_PATH]: own.token } })), 7);
    await writeFile(agentTokenPath, (await agentToken('identity.l5d.io')).token);
    assert.equal(code(await callAs(await workload())), 7, 'agent_wrong_audience reaches the workload as PERMISSION_DENIED');
    await writeFile(agentTokenPath, (await agentToken()).token);
  });
});

describe('every log line', () => {
  // Runs after the flows above (node:test runs describe blocks in order): their agents are stopped.
  const entries = () => logs.map((line) => JSON.parse(line) as Record<string, unknown>);

  test('the flows logged what they did, refusals and failures included', () => {
    const messages = new Set(entries().map((e) => e.msg));
    for (const msg of [
      'issued svid',
      'caller attested',
      'caller refused',
      'attestation unavailable',
      'tokenreview failed',
      'loaded jwt signing key',
      'central issuer serving',
      'node request refused',
      'rotated svid',
    ]) {
      assert.ok(messages.has(msg), `no "${msg}" line among ${[...messages].join(' | ')}`);
    }
    const reasons = new Set(
      entries()
        .filter((e) => e.msg === 'caller refused')
        .map((e) => e.reason),
    );
    for (const reason of ['pod_mismatch', 'no_token', 'token_invalid']) assert.ok(reasons.has(reason), `no refusal for ${reason}`);
  });

  test('is JSON with a level and a constant message (the variable parts are fields)', () => {
    for (const entry of entries()) {
      assert.equal(typeof entry.level, 'string');
      assert.equal(typeof entry.msg, 'string', JSON.stringify(entry));
      assert.doesNotMatch(String(entry.msg), /\/|\d{2,}|spiffe:|=/, `message with variable data: ${JSON.stringify(entry)}`);
    }
  });

  test('holds no PEM block, no private key, no JWT, no token or key the flows handled', () => {
    assert.ok(logs.length > 20 && secrets.size > 10, `${logs.length} lines, ${secrets.size} secrets`);
    for (const line of logs) {
      assert.doesNotMatch(line, /-----BEGIN/);
      assert.doesNotMatch(line, /BEGIN PRIVATE/);
      assert.doesNotMatch(line, JWT);
      assert.doesNotMatch(line, /[A-Za-z0-9+/=_-]{100,}/, 'a long blob (ticket, certificate, key) in base64 or hex');
      for (const secret of secrets) assert.ok(!line.includes(secret), `a secret in: ${line}`);
    }
  });

  test('command output holds no private key, and a JWT only where one was asked for', () => {
    for (const { what, text, mayHoldJwt } of cliOutputs) {
      assert.doesNotMatch(text, /BEGIN PRIVATE|PRIVATE KEY/, what);
      if (!mayHoldJwt) assert.doesNotMatch(text, JWT, what);
    }
  });
});
