/**
 * The parts of `npm run attack` around the attacks themselves: running one attacker process
 * under another uid, and printing what each attack did to the agent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sampleValue } from '../support/metrics-text.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** What one attack did: the attackers' counts, the agent's metrics before and after, the good client's view. */
export interface AttackReport {
  readonly attack: string;
  readonly what: string;
  /** One object of counts per attacker process (worker.ts prints them). */
  readonly counts: ReadonlyArray<Record<string, number>>;
  /** `/metrics` text before the attack and 2.5 s after it ended. */
  readonly before: string;
  readonly after: string;
  readonly probed: {
    /** Good fetches during the attack, ms each. */
    readonly latencies: readonly number[];
    readonly failures: readonly string[];
    /** The agent's peak open descriptors and VmRSS (KiB) while it was attacked. */
    readonly peak: { readonly fds: number; readonly rssKiB: number };
  };
  /** A good fetch after the attack, ms (Infinity when it failed). */
  readonly recovered: number;
  /** The agent's open descriptors after the attack. */
  readonly openAfter: number;
}

/** An attacker process. */
export interface Attacker {
  readonly process: ChildProcess;
  /** The counts it prints when its time is up or it gets SIGTERM; rejects when it exits non-zero. */
  readonly counts: Promise<Record<string, number>>;
}

/** Runs worker.ts as `uid` (its group too) with `args`; `runWorker` waits for its counts. */
export function startWorker(uid: number, args: readonly string[]): Attacker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  child.stderr.on('data', (d) => {
    err += String(d);
  });
  const counts = new Promise<Record<string, number>>((resolve, reject) =>
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`attacker (uid ${uid}) exited ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out) as Record<string, number>);
      } catch {
        reject(new Error(`attacker (uid ${uid}) printed no counts: ${out.slice(0, 500)} ${err.slice(-500)}`));
      }
    }),
  );
  return { process: child, counts };
}

/**
 * Runs worker.ts as `uid` with `args` until its time is up.
 * @returns the counts it prints
 * @throws Error when it exits non-zero or prints no JSON
 */
export function runWorker(uid: number, args: readonly string[]): Promise<Record<string, number>> {
  return startWorker(uid, args).counts;
}

const REASONS: Readonly<Record<string, readonly string[]>> = {
  svid_agent_connections_refused_total: ['total_limit', 'caller_limit', 'placement_busy', 'unplaced'],
  svid_agent_streams_refused_total: ['total_limit', 'caller_limit'],
  svid_agent_connections_closed_total: ['hangup', 'no_call', 'idle'],
};

/** `reason=n` for each reason whose counter rose during the attack, or `-`. */
function risen(report: AttackReport, name: string): string {
  const parts = (REASONS[name] ?? []).flatMap((reason) => {
    const delta = (sampleValue(report.after, name, { reason }) ?? 0) - (sampleValue(report.before, name, { reason }) ?? 0);
    return delta > 0 ? [`${reason}=${delta}`] : [];
  });
  return parts.length > 0 ? parts.join(' ') : '-';
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Sums the attackers' counts by key. */
function summed(counts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

/** Prints one block per attack. */
export function printReports(reports: readonly AttackReport[], fdLimit: number): void {
  console.log(`agent: run --dev under prlimit --nofile=${fdLimit}; good client: a new connection + FetchX509SVID every 200 ms, as root`);
  for (const r of reports) {
    const sorted = [...r.probed.latencies].sort((a, b) => a - b);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.log(`\n== ${r.attack}: ${r.what}`);
    console.log(`  attackers:            ${JSON.stringify(summed(r.counts))}`);
    console.log(`  connections refused:  ${risen(r, 'svid_agent_connections_refused_total')}`);
    console.log(`  streams refused:      ${risen(r, 'svid_agent_streams_refused_total')}`);
    console.log(`  connections closed:   ${risen(r, 'svid_agent_connections_closed_total')}`);
    console.log(
      `  agent peak:           ${r.probed.peak.fds} fds, ${(r.probed.peak.rssKiB / 1024).toFixed(0)} MiB RSS; ${r.openAfter} fds after`,
    );
    console.log(
      `  good client:          ${sorted.length} fetches, p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(percentile(sorted, 100))}; ${r.probed.failures.length} failed; after the attack ${ms(r.recovered)}`,
    );
  }
}
