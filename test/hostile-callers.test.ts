/**
 * Hostile local callers (issue 15 item 1), as they would meet the agent: each attack loop of
 * `npm run attack` runs as its own process under user nobody against a real agent on a real
 * socket, with the per-caller caps lowered so they are reached at once. While the attacker still
 * runs, after the agent has refused it (the metric rose), a well-behaved client of another uid
 * gets its X.509-SVID. Latency figures are `npm run attack`'s (docs/security.md), not asserted here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorker } from './attack/report.js';
import { startTestAgent, type TestAgent } from './support/agent-harness.js';
import { finalStatus, firstData, firstSvid, runChild } from './support/child.js';
import { sampleValue } from './support/metrics-text.js';
import { waitUntil } from './support/wait-until.js';

const needsRoot = process.getuid?.() === 0 ? false : 'needs root to run the attacker as user nobody and the client as another uid';
const NOBODY = 65534;
/** A uid with no passwd entry, so its identity is the fallback name. */
const GOOD_UID = 54321;

describe('hostile callers', { skip: needsRoot }, () => {
  let agent: TestAgent;
  before(async () => {
    // Metrics are kept only when served (--health-addr).
    agent = await startTestAgent({ maxCallerConnections: 16, maxCallerStreams: 32, healthAddr: '127.0.0.1:0' });
  });
  after(() => agent?.close());

  const sample = async (name: string, labels: Record<string, string>) =>
    sampleValue(await agent.running.metrics.render(), name, labels) ?? 0;

  /** Resolves once `sample(name, labels)` exceeds `than` (the agent's events, not a clock, order the test). */
  async function risen(name: string, labels: Record<string, string>, than: number): Promise<void> {
    await waitUntil(async () => (await sample(name, labels)) > than, `${name} ${JSON.stringify(labels)} to rise above ${than}`, {
      everyMs: 20,
      // The attacker starts as a process of its own first.
      hangMs: 60_000,
    });
  }

  const cases = [
    {
      attack: 'goaway',
      what: 'a protocol error, then a close once the GOAWAY comes, in a loop: the agent closes what the peer closed',
      args: ['--parallel', '4'],
      metrics: [
        ['svid_agent_connections_closed_total', { reason: 'hangup' }],
        ['svid_agent_connections_refused_total', { reason: 'caller_limit' }],
      ],
    },
    {
      attack: 'silent',
      what: 'connections that never send a byte',
      args: ['--count', '100'],
      metrics: [['svid_agent_connections_refused_total', { reason: 'caller_limit' }]],
    },
    {
      attack: 'idle',
      what: 'HTTP/2 sessions that open no stream',
      args: ['--count', '100'],
      metrics: [['svid_agent_connections_refused_total', { reason: 'caller_limit' }]],
    },
    {
      attack: 'streams',
      what: 'FetchX509SVID streams held open over a few connections',
      args: ['--count', '100', '--parallel', '2'],
      metrics: [['svid_agent_streams_refused_total', { reason: 'caller_limit' }]],
    },
  ] as const;

  for (const c of cases) {
    it(`${c.attack}: ${c.what}; the attacker is refused and counted, a client of another uid is served meanwhile`, async () => {
      const baseline = await Promise.all(c.metrics.map(([name, labels]) => sample(name, labels)));
      const attacker = startWorker(NOBODY, ['--socket', agent.socketPath, '--mode', c.attack, '--seconds', '300', ...c.args]);
      try {
        await Promise.race([
          Promise.all(c.metrics.map(([name, labels], i) => risen(name, labels, baseline[i] as number))),
          attacker.counts.then((counts) => assert.fail(`the attacker stopped first: ${JSON.stringify(counts)}`)),
        ]);
        const events = await runChild(['--socket', agent.socketPath], { uid: GOOD_UID, gid: GOOD_UID });
        assert.equal(finalStatus(events).code, 0, JSON.stringify(events));
        assert.equal(firstSvid(firstData(events)).spiffe_id, `spiffe://cluster.local/ns/local/sa/uid-${GOOD_UID}`);
        assert.equal(attacker.process.exitCode, null, 'the attack was still running');
      } finally {
        attacker.process.kill('SIGTERM');
        await attacker.counts.catch(() => undefined);
      }
    });
  }
});
