/**
 * `npm run attack`: replays the connection attacks of issue 15 against a child `run --dev` agent
 * whose file-descriptor limit is lowered to 4,096, each attacker a process of its own under
 * another uid. During each attack a good client (this process, root: another uid) opens a new
 * connection and fetches its X.509-SVID every 200 ms. Prints, per attack, the attacker's counts,
 * what the agent refused and closed (its metrics), its peak descriptors and memory, and the good
 * client's latency; exits 1 when a refusal metric that should rise did not, when a good fetch
 * failed or took over 1 s, or when the agent fell over. Needs root (attackers run as other users).
 *
 * Options: --seconds S (per attack, default 8), --only NAME[,NAME]
 */
import { parseArgs } from 'node:util';
import { fetchX509Once } from '../../src/cli/workload-client.js';
import { sampleValue } from '../support/metrics-text.js';
import { type AttackedAgent, startAttackedAgent } from './agent.js';
import { type AttackReport, printReports, runWorker } from './report.js';

const FD_LIMIT = 4096;
const GOOD_CLIENT_BOUND_MS = 1000;
const PROBE_EVERY_MS = 200;
const NOBODY = 65534;

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, only: { type: 'string' } } });
const seconds = Number(values.seconds);

if (process.getuid?.() !== 0) {
  console.error('npm run attack needs root: the attackers run as other users (nobody, 65530-65533)');
  process.exit(1);
}

/** One good fetch on a new connection (as `api fetch x509` makes it): its latency, or the error. */
async function goodFetch(socketPath: string): Promise<number> {
  const started = performance.now();
  await fetchX509Once({ socketPath, timeoutMs: 5_000 });
  return performance.now() - started;
}

/** Probes the agent until `done` settles; returns the latencies and failures, and the agent's peaks. */
async function probeWhile(agent: AttackedAgent, done: Promise<unknown>) {
  let finished = false;
  done.finally(() => {
    finished = true;
  });
  const latencies: number[] = [];
  const failures: string[] = [];
  const peak = { fds: 0, rssKiB: 0 };
  while (!finished) {
    const usage = agent.usage();
    peak.fds = Math.max(peak.fds, usage.fds);
    peak.rssKiB = Math.max(peak.rssKiB, usage.rssKiB);
    await goodFetch(agent.socket).then(
      (ms) => latencies.push(ms),
      (err: Error) => failures.push(err.message),
    );
    await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
  }
  return { latencies, failures, peak };
}

const metricsOf = async (agent: AttackedAgent) => (await fetch(`${agent.url}/metrics`)).text();

interface Attack {
  readonly name: string;
  readonly what: string;
  /** Extra `run` flags (a fresh agent is started for an attack that has some). */
  readonly flags?: readonly string[];
  /** Attackers: uid and worker flags. */
  readonly workers: ReadonlyArray<{ uid: number; args: readonly string[] }>;
  /** The metric sample that must rise, e.g. `svid_agent_connections_refused_total{reason="caller_limit"}`. */
  readonly mustRise: { name: string; labels: Record<string, string> };
  /** At most this rise of the sample `atMost.name` (issuances under a storm). */
  readonly atMost?: { name: string; rise: number };
  /** The good client must be served throughout (false where every caller is refused on purpose). */
  readonly goodClientServed: boolean;
}

const s = String(seconds);
const ATTACKS: readonly Attack[] = [
  {
    name: 'goaway',
    what: 'preface, empty SETTINGS, oversized frame header; close on GOAWAY; 8 loops',
    workers: [{ uid: NOBODY, args: ['--mode', 'goaway', '--seconds', s, '--parallel', '8'] }],
    mustRise: { name: 'svid_agent_connections_refused_total', labels: { reason: 'caller_limit' } },
    goodClientServed: true,
  },
  {
    name: 'silent',
    what: 'hold up to 5,000 connections that send nothing',
    workers: [{ uid: NOBODY, args: ['--mode', 'silent', '--seconds', String(seconds + 4), '--count', '5000'] }],
    mustRise: { name: 'svid_agent_connections_refused_total', labels: { reason: 'caller_limit' } },
    goodClientServed: true,
  },
  {
    name: 'idle',
    what: 'hold up to 2,000 HTTP/2 sessions that open no stream',
    workers: [{ uid: NOBODY, args: ['--mode', 'idle', '--seconds', String(seconds + 4), '--count', '2000'] }],
    mustRise: { name: 'svid_agent_connections_refused_total', labels: { reason: 'caller_limit' } },
    goodClientServed: true,
  },
  {
    name: 'streams',
    what: 'hold 3,000 FetchX509SVID streams over 8 connections',
    workers: [{ uid: NOBODY, args: ['--mode', 'streams', '--seconds', s, '--count', '3000', '--parallel', '8'] }],
    mustRise: { name: 'svid_agent_streams_refused_total', labels: { reason: 'caller_limit' } },
    goodClientServed: true,
  },
  {
    name: 'storm',
    what: 'open a stream on a new connection and cancel it; 3 processes × 4 loops',
    workers: [0, 1, 2].map(() => ({ uid: NOBODY, args: ['--mode', 'storm', '--seconds', s, '--parallel', '4'] })),
    // The storm is served (a call cancelled after its first message counts OK, one before it
    // CANCELLED), from the identity's one issuance.
    mustRise: { name: 'svid_agent_workload_api_calls_total', labels: { method: 'FetchX509SVID', code: 'OK' } },
    atMost: { name: 'svid_agent_x509_svids_issued_total', rise: 3 },
    goodClientServed: true,
  },
  {
    name: 'fd-limit',
    what: '5 users hold 1,000 silent connections each; --max-connections 100000 --max-caller-connections 1000',
    flags: ['--max-connections', '100000', '--max-caller-connections', '1000'],
    workers: [65530, 65531, 65532, 65533, NOBODY].map((uid) => ({
      uid,
      args: ['--mode', 'silent', '--seconds', String(seconds + 4), '--count', '1000'],
    })),
    mustRise: { name: 'svid_agent_connections_refused_total', labels: { reason: 'total_limit' } },
    goodClientServed: false,
  },
];

async function runAttack(agent: AttackedAgent, attack: Attack): Promise<AttackReport> {
  const before = await metricsOf(agent);
  const workers = Promise.all(attack.workers.map((w) => runWorker(w.uid, ['--socket', agent.socket, ...w.args])));
  const probed = await probeWhile(agent, workers);
  const counts = await workers;
  // What the agent does once the attack stops: hung-up connections closed within a sweep or two.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const after = await metricsOf(agent);
  const recovered = await goodFetch(agent.socket).then(
    (ms) => ms,
    () => Number.POSITIVE_INFINITY,
  );
  return { attack: attack.name, what: attack.what, counts, before, after, probed, recovered, openAfter: agent.usage().fds };
}

const problems: string[] = [];
const reports: AttackReport[] = [];
const chosen = ATTACKS.filter((a) => values.only === undefined || values.only.split(',').includes(a.name));
let shared: AttackedAgent | undefined;
for (const attack of chosen) {
  if (!attack.flags && !shared) shared = await startAttackedAgent(FD_LIMIT);
  const agent = attack.flags ? await startAttackedAgent(FD_LIMIT, attack.flags) : (shared as AttackedAgent);
  const report = await runAttack(agent, attack);
  reports.push(report);
  const rise =
    (sampleValue(report.after, attack.mustRise.name, attack.mustRise.labels) ?? 0) -
    (sampleValue(report.before, attack.mustRise.name, attack.mustRise.labels) ?? 0);
  if (!(rise > 0)) problems.push(`${attack.name}: ${attack.mustRise.name}${JSON.stringify(attack.mustRise.labels)} did not rise`);
  if (attack.atMost) {
    const { name, rise: most } = attack.atMost;
    const grew = (sampleValue(report.after, name) ?? 0) - (sampleValue(report.before, name) ?? 0);
    if (grew > most) problems.push(`${attack.name}: ${name} rose by ${grew}, more than ${most}`);
  }
  if (attack.goodClientServed) {
    if (report.probed.failures.length > 0)
      problems.push(`${attack.name}: good fetches failed: ${report.probed.failures.slice(0, 3).join('; ')}`);
    const slowest = Math.max(0, ...report.probed.latencies);
    if (slowest > GOOD_CLIENT_BOUND_MS) problems.push(`${attack.name}: a good fetch took ${slowest.toFixed(0)} ms`);
  }
  if (!(report.recovered <= GOOD_CLIENT_BOUND_MS)) problems.push(`${attack.name}: the good client was not served after the attack`);
  if (/cannot accept connections/.test(agent.stderr())) problems.push(`${attack.name}: accepts failed (the fd limit was reached)`);
  if (attack.flags) await agent.stop();
}
const sharedStopped = shared ? await shared.stop() : 0;
if (sharedStopped !== 0) problems.push(`the agent exited ${sharedStopped}`);
printReports(reports, FD_LIMIT);
if (problems.length > 0) {
  console.log(`\nFAILED:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`\nevery good fetch within ${GOOD_CLIENT_BOUND_MS} ms; every refusal metric rose`);
