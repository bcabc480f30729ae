/**
 * Real node agents in central mode (`startAgent` with `--issuer-addr`) against real central
 * issuers of a {@link CentralWorld}: each agent has its own projected token minted by the strict
 * fake API for its node, callers are child processes placed in pods by a /proc fixture, and the
 * issuer replicas sit behind a {@link ServiceProxy}, as behind a Kubernetes Service.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { Clock } from '../../src/clock.js';
import { centralAgentOverrides, makeTestDir, type StartedAgent, startAgentIn } from './agent-harness.js';
import { type CentralWorld, SERVER_NAME, type TestWorkload } from './central-issuer.js';
import { TOKEN_PATH } from './k8s-world.js';
import { createProcFixture, type FakeProcess, type ProcFixture, podCgroup, randomContainerId } from './proc-fixture.js';

/** A TCP forwarder on 127.0.0.1 standing for the issuer Service: it routes to one replica, or to none. */
export interface ServiceProxy {
  /** `127.0.0.1:<port>`: the agents' `--issuer-addr`. */
  readonly address: string;
  /** Routes new connections to the replica on `port` (none: they are closed at once); open ones are cut. */
  route(port: number | undefined): void;
  close(): Promise<void>;
}

/** Starts a proxy routing to `port`. */
export async function startServiceProxy(port: number | undefined): Promise<ServiceProxy> {
  let target = port;
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (target === undefined) return void client.destroy();
    const upstream = tcpConnect(target, '127.0.0.1');
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    address: `127.0.0.1:${address.port}`,
    route(next) {
      target = next;
      for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A node agent in central mode, and the pods on its node. */
export interface NodeAgent extends StartedAgent {
  readonly node: string;
  readonly proc: ProcFixture;
  /** Where the agent reads its own token. */
  readonly agentTokenPath: string;
  /** Writes a new agent token (the kubelet rotating it), by default the node's own from the fake API. */
  rotateAgentToken(token?: string): Promise<void>;
}

/** Starts an agent for `node` using the issuer at `address` (TLS unless `plaintext`), sharing the world's trust anchors. */
export async function startNodeAgent(
  world: CentralWorld,
  node: string,
  address: string,
  o: { plaintext?: boolean; clock?: Clock; random?: () => number } = {},
): Promise<NodeAgent> {
  const dir = await makeTestDir('svid-agent-node-');
  const agentTokenPath = join(dir, 'agent-token');
  await writeFile(agentTokenPath, await world.agentToken(node));
  const proc = await createProcFixture();
  const agent = await startAgentIn(
    dir,
    {
      ...centralAgentOverrides({
        node,
        procRoot: proc.root,
        central: { address, serverName: SERVER_NAME, plaintext: o.plaintext ?? false, agentTokenPath },
      }),
      trustAnchors: world.config().trustAnchors,
    },
    { ...(o.clock ? { clock: o.clock } : {}), ...(o.random ? { random: o.random } : {}) },
  );
  return {
    ...agent,
    node,
    proc,
    agentTokenPath,
    async rotateAgentToken(token) {
      await writeFile(agentTokenPath, token ?? (await world.agentToken(node)));
    },
    async close() {
      await agent.close();
      await proc.cleanup();
    },
  };
}

/** The process files of a container in the workload's pod: its cgroup and its projected token. */
export function podProcess(workload: TestWorkload): FakeProcess {
  return { cgroup: podCgroup(workload.uid, randomContainerId()), files: { [TOKEN_PATH]: workload.evidence.token } };
}
