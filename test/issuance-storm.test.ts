/**
 * Issuance storms (issue 15 item 4): callers that open a stream and cancel it, over and over,
 * on new connections. At the default idle grace (`--svid-idle-ttl 60s`) the identity's issuance
 * is reused, so the storm costs a handful of signatures instead of one per call, and every
 * cancelled call is logged and counted as CANCELLED, never as an UNAVAILABLE failure. The agent's
 * clock is injected and stands still during the storm, so a slow machine cannot let the grace run
 * out; moved past it, the next caller gets a fresh issuance.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestAgent } from './support/agent-harness.js';
import { finalStatus, runChild } from './support/child.js';
import { sampleValue } from './support/metrics-text.js';
import { waitUntil } from './support/wait-until.js';

const OPEN_CANCEL = fileURLToPath(new URL('./support/open-cancel.ts', import.meta.url));
const LOOPS = 300;

function storm(socket: string): Promise<{ loops: number; received: number; codes: Record<string, number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', OPEN_CANCEL, '--socket', socket, '--loops', String(LOOPS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`open-cancel exited ${code}: ${out}`)))),
  );
}

test(`3 × ${LOOPS} open/cancel loops at the default idle grace: a handful of issuances, every cancel logged as CANCELLED`, async () => {
  const clock = { ms: Date.now(), now: () => clock.ms };
  // Metrics are kept only when served (--health-addr).
  const agent = await startTestAgent({ healthAddr: '127.0.0.1:0' }, { clock });
  try {
    assert.equal(agent.config.svidIdleTtlMs, 60_000, 'the default grace');
    const results = await Promise.all([storm(agent.socketPath), storm(agent.socketPath), storm(agent.socketPath)]);
    assert.ok(
      results.every((r) => r.loops === LOOPS),
      JSON.stringify(results),
    );
    // The agent still serves, and from the identity it already holds.
    assert.equal(finalStatus(await runChild(['--socket', agent.socketPath])).code, 0);

    const metrics = await agent.running.metrics.render();
    const issued = sampleValue(metrics, 'svid_agent_x509_svids_issued_total') ?? 0;
    assert.ok(issued >= 1 && issued <= 3, `${issued} issuances for ${3 * LOOPS} calls`);

    // One ms short of the grace the identity is still held; at the grace it is issued afresh.
    // The grace counts from the release of the last stream: wait for the agent to see it end.
    const released = () => waitUntil(() => agent.running.workloadApi.openStreams() === 0, 'the agent to see the last stream end');
    await released();
    clock.ms += agent.config.svidIdleTtlMs - 1;
    assert.equal(finalStatus(await runChild(['--socket', agent.socketPath])).code, 0);
    const issuedNow = async () => sampleValue(await agent.running.metrics.render(), 'svid_agent_x509_svids_issued_total');
    assert.equal(await issuedNow(), issued, 'reused just inside the grace');
    await released();
    clock.ms += agent.config.svidIdleTtlMs;
    assert.equal(finalStatus(await runChild(['--socket', agent.socketPath])).code, 0);
    assert.equal(await issuedNow(), issued + 1, 'issued afresh after the grace');
    const failed = (code: string) => sampleValue(metrics, 'svid_agent_workload_api_calls_total', { method: 'FetchX509SVID', code });
    assert.equal(failed('UNAVAILABLE'), undefined, 'no call counted as UNAVAILABLE');
    assert.equal(failed('INTERNAL'), undefined);

    const entries = agent.log.entries;
    assert.ok(!entries.some((e) => /unknown connection/.test(JSON.stringify(e))), 'no "unknown connection"');
    assert.ok(!entries.some((e) => e.msg === 'workload api call failed'), 'no warning for a client that cancelled');
    const cancelled = entries.filter((e) => e.msg === 'workload api call cancelled');
    assert.ok(
      cancelled.every((e) => e.level === 'info' && e.code === 'CANCELLED'),
      JSON.stringify(cancelled[0]),
    );
  } finally {
    await agent.close();
  }
});
