/**
 * A small in-process fake of the central issuer's node service (`proto/node/node.proto`) for the
 * agent's tests: it knows a table of pods (token → account, pod, node), signs CSRs with a real
 * issuer, mints JWT-SVIDs with a real key, streams its bundle, and can be stopped and started
 * again on the same port, or told to answer with a given status. Strict where the agent's side of
 * the contract is concerned: the agent token on every call, evidence bound to the agent's node
 * and to the pod UID sent, a renewal proof that verifies under the renewed certificate's key.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { Server, ServerCredentials, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import { workloadIdentityFor } from '../../src/identity.js';
import {
  createJwtKeySet,
  createX509SvidSigner,
  type IssuerCredentials,
  type JwtSigningKey,
  jwksJson,
  mintJwtSvid,
  parseCsr,
  verifyRenewalProof,
} from '../../src/issuer/index.js';
import { silentLogger } from '../../src/log.js';
import { nodeIssuerDefinition } from '../../src/protos.js';
import { createValueChannel } from '../../src/value-channel.js';

const NAMING = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };

/** A pod the fake's "API server" knows, by its token. */
export interface FakePod {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podUid: string;
  readonly node: string;
}

/** One call the fake received. */
export interface ReceivedCall {
  readonly method: string;
  readonly authorization: string | undefined;
  readonly request: Record<string, unknown>;
}

export interface FakeNodeIssuerOptions {
  /** The issuer that signs SVIDs. */
  readonly issuer: IssuerCredentials;
  readonly jwtKey?: JwtSigningKey;
  /** The agent token every call must carry, and the node it stands for. */
  readonly agentToken: () => string;
  readonly agentNode: string;
  /** SVID lifetime, ms; default 1 h. */
  readonly svidTtlMs?: number;
  /** TLS key and certificate chain (PEM); default plaintext. */
  readonly tls?: { readonly keyPem: string; readonly certPem: string };
}

export interface FakeNodeIssuer {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly pods: Map<string, FakePod>;
  readonly calls: ReceivedCall[];
  /** When set, every call ends with this status (the issuer refusing, rate-limiting, ...). */
  failWith: { code: status; details: string } | undefined;
  /** Renewal on a ticket and proof alone (no evidence) is accepted: the API server is "down". */
  apiDown: boolean;
  /** Announces a new issuer fingerprint on every bundle stream. */
  swapIssuer(): void;
  /** Stops answering (the port is closed); open streams end. */
  stop(): Promise<void>;
  /** Answers again on the same port. */
  start(): Promise<void>;
}

type Unary = ServerUnaryCall<Record<string, unknown>, unknown>;
type Reply = sendUnaryData<unknown>;

const fail = (code: status, details: string) => Object.assign(new Error(details), { code, details });

/** Starts the fake on 127.0.0.1 (a free port). */
export async function startFakeNodeIssuer(options: FakeNodeIssuerOptions): Promise<FakeNodeIssuer> {
  const issuerChannel = createValueChannel<IssuerCredentials | undefined>(options.issuer);
  const signer = createX509SvidSigner({
    issuer: issuerChannel.receiver,
    clock: { now: () => Date.now() },
    lifetimeMs: options.svidTtlMs ?? 3_600_000,
    clockSkewMs: 0,
    logger: silentLogger(),
  });
  let fingerprint = createHash('sha256').update(options.issuer.certificate.raw).digest('hex');
  const watchers = new Set<ServerWritableStream<unknown, unknown>>();
  const bundleMessage = () => ({
    jwt_bundle: options.jwtKey ? Buffer.from(jwksJson(createJwtKeySet(options.jwtKey).keys)) : Buffer.alloc(0),
    issuer_fingerprint: fingerprint,
  });

  function authorize(method: string, call: Unary | ServerWritableStream<unknown, unknown>): void {
    const authorization = call.metadata.get('authorization')[0];
    fake.calls.push({
      method,
      authorization: typeof authorization === 'string' ? authorization : undefined,
      request: (call.request ?? {}) as Record<string, unknown>,
    });
    if (fake.failWith) throw fail(fake.failWith.code, fake.failWith.details);
    if (authorization !== `Bearer ${options.agentToken()}`) throw fail(status.UNAUTHENTICATED, 'agent token missing or not accepted');
  }

  /** The pod behind evidence, bound to the agent's node and the pod UID sent. */
  function podOf(evidence: unknown): FakePod {
    const { token, pod_uid: podUid } = (evidence ?? {}) as { token?: string; pod_uid?: string };
    const pod = fake.pods.get(token ?? '');
    if (!pod) throw fail(status.PERMISSION_DENIED, 'workload token not authenticated');
    if (pod.node !== options.agentNode) throw fail(status.PERMISSION_DENIED, 'workload token bound to another node');
    if (pod.podUid !== podUid) throw fail(status.PERMISSION_DENIED, 'workload token bound to another pod');
    return pod;
  }

  const identityOf = (pod: FakePod) =>
    workloadIdentityFor({ type: 'serviceaccount', namespace: pod.namespace, name: pod.serviceAccount }, NAMING);

  /** The identity a renewal proof proves, or a refusal. */
  function renewed(renewal: Record<string, Buffer>, csr: Buffer): string {
    const certificate = new X509Certificate(renewal.certificate ?? Buffer.alloc(0));
    const ticket = JSON.parse((renewal.ticket ?? Buffer.alloc(0)).toString()) as { spiffeId: string; serial: string };
    const serial = (hex: string) => hex.toLowerCase().replace(/^0+/, '');
    if (serial(ticket.serial) !== serial(certificate.serialNumber)) throw fail(status.PERMISSION_DENIED, 'ticket of another certificate');
    if (!verifyRenewalProof(certificate.publicKey, renewal.ticket ?? Buffer.alloc(0), csr, renewal.signature ?? Buffer.alloc(0))) {
      throw fail(status.PERMISSION_DENIED, 'renewal proof does not verify');
    }
    return ticket.spiffeId;
  }

  function unary(method: string, body: (request: Record<string, unknown>) => Promise<unknown> | unknown) {
    return (call: Unary, reply: Reply) => {
      Promise.resolve()
        .then(() => {
          authorize(method, call);
          return body(call.request);
        })
        .then(
          (value) => reply(null, value),
          (err: { code?: status; details?: string }) => reply({ code: err.code ?? status.INTERNAL, details: err.details ?? String(err) }),
        );
    };
  }

  const handlers = {
    ReviewWorkload: unary('ReviewWorkload', (request) => {
      const pod = podOf(request.workload);
      return {
        namespace: pod.namespace,
        service_account: pod.serviceAccount,
        pod_uid: pod.podUid,
        pod_name: 'web-abc',
        node_name: pod.node,
      };
    }),
    SignX509SVID: unary('SignX509SVID', (request) => {
      const csr = request.csr as Buffer;
      const parsed = parseCsr(csr);
      if (!parsed.verifySignature()) throw fail(status.INVALID_ARGUMENT, 'csr signature does not verify');
      let identity: ReturnType<typeof identityOf>;
      if (request.workload) identity = identityOf(podOf(request.workload));
      else if (request.renewal && fake.apiDown) {
        const spiffeId = renewed(request.renewal as Record<string, Buffer>, csr);
        const [, namespace, , name] = spiffeId.replace('spiffe://cluster.local/', '').split('/') as [string, string, string, string];
        identity = workloadIdentityFor({ type: 'serviceaccount', namespace, name }, NAMING);
      } else throw fail(status.PERMISSION_DENIED, 'renewal needs a fresh workload token while the API server is reachable');
      const signed = signer.sign(identity, parsed.publicKeySpki);
      const ticket = Buffer.from(JSON.stringify({ spiffeId: identity.spiffeId, serial: signed.serialHex }));
      return {
        leaf: signed.leaf,
        intermediates: signed.intermediates,
        ticket,
        spiffe_id: identity.spiffeId,
        not_before_unix_ms: signed.notBefore,
        not_after_unix_ms: signed.notAfter,
      };
    }),
    MintJWTSVID: unary('MintJWTSVID', async (request) => {
      if (!options.jwtKey) throw fail(status.UNIMPLEMENTED, 'no jwt key');
      const identity = identityOf(podOf(request.workload));
      const minted = await mintJwtSvid({
        key: options.jwtKey,
        spiffeId: identity.spiffeId,
        audience: request.audience as string[],
        ttlMs: 300_000,
        now: Date.now(),
      });
      return { spiffe_id: minted.spiffeId, token: minted.token, expires_at_unix_ms: minted.expiresAt, issued_at_unix_ms: minted.issuedAt };
    }),
    WatchBundles: (call: ServerWritableStream<unknown, unknown>) => {
      try {
        authorize('WatchBundles', call);
      } catch (err) {
        const { code, details } = err as { code: status; details: string };
        call.emit('error', { code, details });
        return;
      }
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
      call.write(bundleMessage());
    },
  };

  let server: Server | undefined;
  let port = 0;
  async function start(): Promise<void> {
    server = new Server();
    server.addService(nodeIssuerDefinition(), handlers);
    const credentials = options.tls
      ? ServerCredentials.createSsl(null, [{ private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certPem) }])
      : ServerCredentials.createInsecure();
    const bound = server;
    port = await new Promise<number>((resolve, reject) =>
      bound.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
  }

  const fake: FakeNodeIssuer = {
    get address() {
      return `127.0.0.1:${port}`;
    },
    pods: new Map(),
    calls: [],
    failWith: undefined,
    apiDown: false,
    swapIssuer() {
      fingerprint = createHash('sha256').update(fingerprint).digest('hex');
      for (const call of watchers) call.write(bundleMessage());
    },
    async stop() {
      watchers.clear();
      server?.forceShutdown();
      server = undefined;
    },
    start,
  };
  await start();
  return fake;
}
