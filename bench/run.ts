/**
 * Every benchmark in one run, each figure beside its floor or reference and the ratio; the goals
 * are listed again at the end and a missed goal makes the exit code 1.
 *
 *   npm run bench                       # builds dist/, then every section (about 15 minutes)
 *   npm run bench -- footprint startup  # only these sections
 *   npm run bench -- --short            # every section with fewer samples and shorter waits
 *
 * Sections: issuance, footprint, startup, fetch, kubernetes, streams. The agent is measured as
 * users run it: `node bin/svid-agent.js run --dev` (compiled), in its own process.
 */
import { SHORT } from './mode.js';
import { goalResults } from './report.js';

const SECTIONS: Record<string, () => Promise<unknown>> = {
  issuance: () => import('./issuance.js'),
  footprint: async () => (await import('./footprint.js')).runFootprint(),
  startup: async () => (await import('./footprint.js')).runStartup(),
  fetch: async () => (await import('./fetch-latency.js')).runFetchLatency(),
  kubernetes: async () => (await import('./kubernetes.js')).runKubernetes(),
  streams: async () => (await import('./streams.js')).runStreams(),
};

const asked = process.argv.slice(2).filter((arg) => arg !== '--short');
const unknown = asked.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown section ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
console.log(
  `node ${process.version}, ${new Date().toISOString()}, load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}${SHORT ? '; SHORT run (fewer samples, shorter waits): not the documented figures' : ''}`,
);
for (const name of asked.length > 0 ? asked : Object.keys(SECTIONS)) {
  if (name === 'issuance') console.log('\n## Issuance');
  await SECTIONS[name]?.();
}

const goals = goalResults();
const missed = goals.filter((g) => !g.met);
console.log('\n## Goals');
for (const g of goals) console.log(`- ${g.met ? 'met' : 'MISSED'}: ${g.section}: ${g.figure.label}`);
console.log(`${goals.length - missed.length} of ${goals.length} goals met`);
process.exit(missed.length > 0 ? 1 : 0);
