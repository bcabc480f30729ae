/**
 * Caller groups (issue 15): by uid with nothing read; by pod with one cgroup read per process,
 * shared and remembered for a while.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCallerGroups, PLACEMENT_TTL_MS } from './caller-groups.js';
import { ProcessGoneError } from './proc.js';

const POD = '1d5e0a53-1c39-4bb4-8a8e-5a0d9f1d2c3b';
const CONTAINER = 'a'.repeat(64);
const inPod = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${CONTAINER}.scope\n`;

test('uid mode reads nothing', async () => {
  const groups = createCallerGroups({ mode: 'uid', proc: { readCgroup: () => assert.fail('read') }, clock: { now: () => 0 } });
  assert.equal(groups.known({ pid: 1, uid: 2102, gid: 0 }), 'uid:2102');
  assert.equal(await groups.place({ pid: 1, uid: 2102, gid: 0 }), 'uid:2102');
});

test('pod mode: one read per process, shared while in flight and remembered for a while; host processes go by uid', async () => {
  let now = 0;
  const reads: number[] = [];
  const cgroups: Record<number, string> = { 10: inPod, 20: '0::/system.slice/kubelet.service\n' };
  const groups = createCallerGroups({
    mode: 'pod',
    proc: {
      readCgroup: async (pid) => {
        reads.push(pid);
        const text = cgroups[pid];
        if (text === undefined) throw new ProcessGoneError(pid);
        return text;
      },
    },
    clock: { now: () => now },
  });
  const proxy = { pid: 10, uid: 2102, gid: 2102 };
  assert.equal(groups.known(proxy), undefined);
  const [a, b] = await Promise.all([groups.place(proxy), groups.place(proxy)]);
  assert.deepEqual([a, b, reads], [`pod:${POD}`, `pod:${POD}`, [10]]);
  assert.equal(groups.known(proxy), `pod:${POD}`, 'no read for its next connections');
  now += PLACEMENT_TTL_MS;
  assert.equal(groups.known(proxy), undefined, 'forgotten after a while (its pid may be reused)');
  assert.equal(await groups.place({ pid: 20, uid: 0, gid: 0 }), 'uid:0');
  await assert.rejects(groups.place({ pid: 30, uid: 0, gid: 0 }), ProcessGoneError);
});
