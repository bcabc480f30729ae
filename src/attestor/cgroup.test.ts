import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAgentError } from '../errors.js';
import { identityFromCgroupPath, parseCgroupFile } from './cgroup.js';

const CID = '9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961';
const CID2 = '09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6';
const HOST_ID = 'b2a102854b4969b2ce98dc329c86b4fb2b06e4ad2cc8da9d8a7578c9cd2004a2';
const POD = '2c48913c-b29f-11e7-9350-020968147796';
const POD_ = POD.replaceAll('-', '_');
const POD2 = 'a2830d0d-b0f0-4ff0-81b5-0ee4e299cf80';

describe('identityFromCgroupPath: real-world shapes', () => {
  const cases: Array<[string, string, { containerId?: string; podUid?: string }]> = [
    ['v1 cgroupfs, burstable', `/kubepods/burstable/pod${POD}/${CID}`, { containerId: CID, podUid: POD }],
    ['v1 cgroupfs, besteffort', `/kubepods/besteffort/pod${POD}/${CID}`, { containerId: CID, podUid: POD }],
    ['v1 cgroupfs, guaranteed', `/kubepods/pod${POD}/${CID}`, { containerId: CID, podUid: POD }],
    [
      'v1 systemd, docker',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/docker-${CID}.scope`,
      { containerId: CID, podUid: POD },
    ],
    [
      'v2 systemd, containerd, besteffort',
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/cri-containerd-${CID}.scope`,
      { containerId: CID, podUid: POD },
    ],
    ['v2 systemd, guaranteed', `/kubepods.slice/kubepods-pod${POD_}.slice/cri-containerd-${CID}.scope`, { containerId: CID, podUid: POD }],
    [
      'v2 systemd, CRI-O',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-${CID}.scope`,
      { containerId: CID, podUid: POD },
    ],
    [
      'containerd, pod and container in one segment',
      `/system.slice/containerd.service/kubepods-burstable-pod${POD_}.slice:cri-containerd:${CID}`,
      { containerId: CID, podUid: POD },
    ],
    ['kind, cgroupfs', `/docker/${HOST_ID}/kubepods/besteffort/pod${POD}/${CID}`, { containerId: CID, podUid: POD }],
    [
      'kind, systemd',
      `/docker/${HOST_ID}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${POD_}.slice/cri-containerd-${CID}.scope`,
      { containerId: CID, podUid: POD },
    ],
    ['plain docker, cgroupfs', `/docker/${CID}`, { containerId: CID }],
    ['plain docker, systemd', `/system.slice/docker-${CID}.scope`, { containerId: CID }],
    ['host process', '/user.slice/user-1000.slice/session-3.scope', {}],
    ['root cgroup', '/', {}],
    ['segments after the container are not searched', `/kubepods/pod${POD}/${CID}/pod${POD2}`, { containerId: CID, podUid: POD }],
    ['upper-case hex is normalised', `/kubepods/pod${POD.toUpperCase()}/${CID.toUpperCase()}`, { containerId: CID, podUid: POD }],
    ['63 hex characters are not an ID', `/kubepods/pod${POD}/${CID.slice(1)}`, {}],
    ['65 hex characters are not an ID', `/kubepods/pod${POD}/${CID}0`, {}],
    ['a pod UID glued to other word characters is not a pod UID', `/kubepods/xpod${POD}/${CID}`, { containerId: CID }],
    ['a malformed pod UID is ignored', `/kubepods/pod${POD.slice(0, -1)}/${CID}`, { containerId: CID }],
  ];
  for (const [name, path, want] of cases) {
    test(name, () => assert.deepEqual(identityFromCgroupPath(path), want));
  }
});

describe('parseCgroupFile', () => {
  test('cgroup v1: every controller names the same container', () => {
    const lines = ['12:pids', '11:memory', '10:cpu,cpuacct', '1:name=systemd']
      .map((c) => `${c}:/kubepods/burstable/pod${POD}/${CID}`)
      .join('\n');
    assert.deepEqual(parseCgroupFile(`${lines}\n0::/\n`), { containerId: CID, podUid: POD });
  });

  test('cgroup v2 single line', () => {
    const text = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/cri-containerd-${CID}.scope\n`;
    assert.deepEqual(parseCgroupFile(text), { containerId: CID, podUid: POD });
  });

  test('a line with a pod UID wins over one without (kind on macOS)', () => {
    const text = [
      `1:cpu:/docker/${HOST_ID}/kubepods/besteffort/pod${POD}/${CID}`,
      `0::/docker/${HOST_ID}/system.slice/containerd.service`,
    ].join('\n');
    assert.deepEqual(parseCgroupFile(text), { containerId: CID, podUid: POD });
  });

  test('not in a pod: host, empty file, v1 root', () => {
    assert.deepEqual(parseCgroupFile('0::/user.slice/user-1000.slice/session-3.scope\n'), {});
    assert.deepEqual(parseCgroupFile(''), {});
    assert.deepEqual(parseCgroupFile('9:name=systemd:/\n4:memory:/process_api/e465c2c6c3a9d4ae645c049d39c12e54\n0::/\n'), {});
  });

  test('a container that is not in a pod has no pod UID', () => {
    assert.deepEqual(parseCgroupFile(`0::/system.slice/docker-${CID}.scope\n`), { containerId: CID });
  });

  test('paths may contain colons', () => {
    assert.deepEqual(parseCgroupFile(`0::/kubepods-pod${POD_}.slice:cri-containerd:${CID}\n`), { containerId: CID, podUid: POD });
  });

  const refusals: Array<[string, string, RegExp]> = [
    ['conflicting pod UIDs', `1:cpu:/kubepods/pod${POD}/${CID}\n2:memory:/kubepods/pod${POD2}/${CID}\n`, /multiple pod UIDs/],
    ['conflicting container IDs', `1:cpu:/kubepods/pod${POD}/${CID}\n2:memory:/kubepods/pod${POD}/${CID2}\n`, /multiple container IDs/],
    ['conflicting containers outside pods', `1:cpu:/docker/${CID}\n2:memory:/docker/${CID2}\n`, /multiple container IDs/],
    ['a line with fewer than three fields', `1:cpu/kubepods/pod${POD}/${CID}\n`, /malformed/],
  ];
  for (const [name, text, message] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parseCgroupFile(text),
        (err: unknown) => isAgentError(err, 'NO_IDENTITY') && message.test(err.message),
      );
    });
  }
});
