/**
 * Config YAML through the run configuration loader (`--config`): line-level edits (keys, values,
 * indentation, anchors and aliases, tags, flow collections) and character-level ones.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRunConfig } from '../../../src/cli/config.js';
import { mutateText } from '../mutate.js';
import type { Rng } from '../prng.js';
import { type FuzzTarget, showText } from '../runner.js';

const REFERENCE = fileURLToPath(new URL('../../../config/agent-full.yaml', import.meta.url));
const SNIPPETS = [
  'svidTtl: 1h',
  'socket: /run/x.sock',
  'tokenPath: [/a, /b]',
  'tokenPath:\n  - /a\n  - b',
  'a: &a [1, 2]\nb: *a',
  'x: &x {k: v}\nlogLevel: *x',
  '<<: {attestor: unix}',
  'healthAddr: "[::1]:0"',
  'clockSkew: !!binary aGk=',
  'dev: yes',
  '? complex\n: key',
  '--- !!map\n',
  '%YAML 1.2\n---',
  'trustDomain: "\\u00e9"',
  'nodeName: null',
  `maxRefresh: ${'9'.repeat(30)}h`,
  `deep: ${'['.repeat(500)}${']'.repeat(500)}`,
  'k: *undefined',
];

/** Creates the config YAML target. */
export function configTarget(): FuzzTarget<string> {
  let seeds: string[] = [];
  return {
    name: 'config',
    codes: ['CONFIG_INVALID'],
    fullInputs: 100_000,
    smokeInputs: 300,
    async setup() {
      const reference = readFileSync(REFERENCE, 'utf8');
      seeds = [reference, 'attestor: unix\nsocket: /tmp/a.sock\n', 'dev: true\n', ''];
    },
    input(rng: Rng) {
      const lines = rng.pick(seeds).split('\n');
      for (let n = 1 + rng.int(4); n > 0; n--) {
        const at = rng.int(lines.length + 1);
        switch (rng.int(5)) {
          case 0:
            lines.splice(at, 1);
            break;
          case 1:
            lines.splice(at, 0, rng.pick(SNIPPETS));
            break;
          case 2:
            lines.splice(at, 0, lines[rng.int(lines.length)] ?? '');
            break;
          case 3:
            lines[at] = `${' '.repeat(rng.int(6))}${lines[at] ?? ''}`;
            break;
          default:
            lines[at] = mutateText(rng, lines[at] ?? '', [': ', '- ', '#', '&a ', '*a', '{', '[', '"', "'", '|', '>']);
        }
      }
      return lines.join('\n');
    },
    run(text) {
      loadRunConfig({ flags: { config: 'agent.yaml' }, env: {}, cwd: '/work', readFile: () => text });
    },
    show: (text) => showText(text, 400),
  };
}
