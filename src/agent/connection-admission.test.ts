/**
 * Connection admission (issue 15): the total cap first, with nothing read; then the caller's
 * group, known at once or placed with at most a few reads waiting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallerGroups, PeerCredentials } from '../attestor/index.js';
import { createBudget } from './budget.js';
import { type AdmissionDecision, createConnectionAdmission, MAX_PENDING_PLACEMENTS } from './connection-admission.js';

const peer = (pid: number, uid = 2102): PeerCredentials => ({ pid, uid, gid: uid });

test('a budget caps in total and per group, and gives back what it took', () => {
  const b = createBudget({ total: 3, perGroup: 2 });
  assert.deepEqual(
    ['a', 'a', 'a', 'b', 'c'].map((g) => b.take(g)),
    [undefined, undefined, 'caller_limit', undefined, 'total_limit'],
  );
  assert.equal(b.full(), true);
  b.give('a');
  assert.deepEqual([b.size(), b.of('a'), b.take('c')], [2, 1, undefined]);
  b.give('nobody');
  assert.equal(b.size(), 3, 'giving back what was never taken changes nothing');
  assert.throws(() => createBudget({ total: 0, perGroup: 1 }), TypeError);
});

test('known callers are decided at once; the total cap is checked before any placement', async () => {
  const placed: number[] = [];
  const groups: CallerGroups = {
    known: (p) => (p.pid < 100 ? `pod:${p.pid % 2}` : undefined),
    place: async (p) => {
      placed.push(p.pid);
      return 'pod:late';
    },
  };
  const admission = createConnectionAdmission({ groups, connections: createBudget({ total: 3, perGroup: 2 }) });
  const first = admission.admit(peer(2)) as AdmissionDecision;
  assert.deepEqual([first.admitted, first.admitted && first.group], [true, 'pod:0']);
  assert.equal((admission.admit(peer(4)) as AdmissionDecision).admitted, true);
  assert.deepEqual(admission.admit(peer(6)), { admitted: false, reason: 'caller_limit', group: 'pod:0' });
  const late = await admission.admit(peer(500));
  assert.equal(late.admitted && late.group, 'pod:late');
  assert.deepEqual(admission.admit(peer(501)), { admitted: false, reason: 'total_limit' });
  assert.deepEqual(placed, [500], 'no read for a connection the total cap refuses');
  if (first.admitted) first.release();
  if (first.admitted) first.release();
  assert.equal((admission.admit(peer(8)) as AdmissionDecision).admitted, true, 'one place freed, once');
});

test('at most a few placements wait at a time; a caller that cannot be placed is refused', async () => {
  const waiting: Array<() => void> = [];
  const groups: CallerGroups = {
    known: () => undefined,
    place: (p) =>
      p.pid === 1
        ? Promise.reject(new Error('gone'))
        : new Promise((resolve) => {
            waiting.push(() => resolve(`pod:${p.pid}`));
          }),
  };
  const admission = createConnectionAdmission({ groups, connections: createBudget({ total: 1000, perGroup: 10 }) });
  assert.deepEqual(await admission.admit(peer(1)), { admitted: false, reason: 'unplaced' });
  const pending = Array.from({ length: MAX_PENDING_PLACEMENTS }, (_, i) => admission.admit(peer(10 + i)));
  assert.deepEqual(admission.admit(peer(9999)), { admitted: false, reason: 'placement_busy' });
  for (const resolve of waiting) resolve();
  assert.ok((await Promise.all(pending)).every((d) => d.admitted));
  assert.ok(admission.admit(peer(9999)) instanceof Promise, 'room again once they are placed');
});
