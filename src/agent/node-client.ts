/**
 * The agent's client of the central issuer's node service (`proto/node/node.proto`,
 * docs/central-issuer.md). Every call carries the agent's own projected token, read again from
 * `--agent-token-path` for each call (the kubelet rotates it). TLS verifies the issuer's chain
 * against the trust anchors in use only — never the system's roots — for `--issuer-server-name`,
 * with ALPN h2; when the anchors change, the next call uses a channel built on the new ones.
 *
 * Every failure is a {@link NodeServiceError}; `status.ts` decides what a workload sees of it.
 */
import { readFile } from 'node:fs/promises';
import {
  ChannelCredentials,
  Client,
  type ClientReadableStream,
  connectivityState,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { AgentError, fileErrorReason } from '../errors.js';
import type { TrustAnchors } from '../issuer/index.js';
import { type AnyServiceDefinition, nodeIssuerDefinition } from '../protos.js';
import type { Receiver } from '../value-channel.js';
import type { CentralIssuerConfig } from './config.js';
import { NodeServiceError, TRANSPORT_STATUSES } from './node-service-error.js';

/** What proves a workload to the issuer: its own token and its pod UID (from its cgroup). */
export interface WorkloadEvidence {
  /** Never log it. */
  readonly token: string;
  readonly podUid: string;
}

/** What ReviewWorkload proved about a workload token. */
export interface ReviewedWorkload {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podUid: string;
  readonly podName: string;
  readonly nodeName: string;
}

/** A SignX509SVID request. */
export interface SignX509SvidCall {
  /** DER PKCS#10 for the new key. */
  readonly csr: Buffer;
  readonly workload?: WorkloadEvidence;
  readonly renewal?: { readonly ticket: Buffer; readonly certificate: Buffer; readonly signature: Buffer };
}

/** What SignX509SVID returns. */
export interface SignedX509SvidReply {
  readonly leaf: Buffer;
  readonly intermediates: readonly Buffer[];
  /** Never log it. */
  readonly ticket: Buffer;
  readonly spiffeId: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** What MintJWTSVID returns. */
export interface MintedJwtSvidReply {
  readonly spiffeId: string;
  readonly token: string;
  readonly expiresAt: number;
  readonly issuedAt: number;
}

/** One WatchBundles message. */
export interface BundlesMessage {
  /** JWKS JSON; empty when the issuer mints no JWT-SVIDs. */
  readonly jwtBundle: Buffer;
  /** SHA-256 of the issuer certificate, hex: a change is an issuer swap. */
  readonly issuerFingerprint: string;
}

/** An open WatchBundles stream. */
export interface BundleStream {
  cancel(): void;
}

/** The node service, as the agent calls it. */
export interface NodeIssuerClient {
  reviewWorkload(evidence: WorkloadEvidence): Promise<ReviewedWorkload>;
  signX509Svid(call: SignX509SvidCall): Promise<SignedX509SvidReply>;
  mintJwtSvid(workload: WorkloadEvidence, audience: readonly string[]): Promise<MintedJwtSvidReply>;
  /** Opens WatchBundles; `end` is called once, with the failure (or `undefined` for a clean end). */
  watchBundles(handlers: { message(m: BundlesMessage): void; end(err: AgentError | undefined): void }): BundleStream;
  close(): void;
}

/** Options of {@link createNodeIssuerClient}. */
export interface NodeIssuerClientOptions {
  readonly issuer: CentralIssuerConfig;
  /** The trust anchors in use: the only roots the issuer's chain may end in. */
  readonly anchors: Receiver<TrustAnchors>;
  /** Told after every call whether the issuer answered (true) or could not be reached (false). */
  readonly onReachability?: (reachable: boolean, cause?: unknown) => void;
  /** Bound on one unary call, ms; default 10 s. */
  readonly callTimeoutMs?: number;
  /** Reads the agent token; default `fs.readFile` as UTF-8. */
  readonly readToken?: (path: string) => Promise<string>;
}

const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/**
 * Channel options: reconnect within about 5 s once the issuer is back (grpc's default waits up to
 * 2 minutes; its backoff is jittered ±20 %), so that the retries of the SVID store, which back off
 * on their own clock, find a connection; and notice a dead peer on the long-lived bundle stream.
 */
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 1_000,
  'grpc.max_reconnect_backoff_ms': 5_000,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
} as const;

type Wire = Record<string, unknown>;

/** Creates the client; no connection is made before the first call. */
export function createNodeIssuerClient(options: NodeIssuerClientOptions): NodeIssuerClient {
  const { issuer } = options;
  const definition = nodeIssuerDefinition();
  const timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const readToken = options.readToken ?? ((path: string) => readFile(path, 'utf8'));
  let current: { anchors: TrustAnchors | undefined; client: Client } | undefined;

  function client(): Client {
    const anchors = issuer.plaintext ? undefined : options.anchors.get();
    if (current && current.anchors === anchors) return current.client;
    current?.client.close();
    const credentials = anchors
      ? ChannelCredentials.createSsl(Buffer.from(anchors.certificates.map((c) => c.toString()).join('')))
      : ChannelCredentials.createInsecure();
    const channelOptions = issuer.plaintext ? CHANNEL_OPTIONS : { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': issuer.serverName };
    current = { anchors, client: new Client(issuer.address, credentials, channelOptions) };
    return current.client;
  }

  async function metadata(): Promise<Metadata> {
    let token: string;
    try {
      token = (await readToken(issuer.agentTokenPath)).trim();
    } catch (err) {
      throw new AgentError('CREDENTIALS_UNREADABLE', `cannot read the agent token ${issuer.agentTokenPath}: ${fileErrorReason(err)}`);
    }
    if (token === '') throw new AgentError('CREDENTIALS_UNREADABLE', `the agent token ${issuer.agentTokenPath} is empty`);
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  }

  /** The call's failure as a NodeServiceError, after telling whether the issuer was reached. */
  function failure(method: string, used: Client, err: ServiceError): NodeServiceError {
    const error = new NodeServiceError(method, err.code, err.details);
    const unreached = TRANSPORT_STATUSES.has(err.code) && used.getChannel().getConnectivityState(false) !== connectivityState.READY;
    options.onReachability?.(!unreached, error);
    return error;
  }

  async function unary(method: string, request: Wire): Promise<Wire> {
    const def = method in definition ? (definition as AnyServiceDefinition)[method] : undefined;
    if (!def) throw new TypeError(`unknown node service method ${method}`);
    const md = await metadata();
    const used = client();
    return new Promise((resolve, reject) => {
      used.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize as (b: Buffer) => Wire,
        request,
        md,
        { deadline: Date.now() + timeoutMs },
        (err, reply) => {
          if (err || !reply) return reject(failure(method, used, err ?? ({ code: status.INTERNAL, details: 'no reply' } as ServiceError)));
          options.onReachability?.(true);
          resolve(reply);
        },
      );
    });
  }

  const evidence = (w: WorkloadEvidence): Wire => ({ token: w.token, pod_uid: w.podUid });

  return {
    async reviewWorkload(workload) {
      const r = await unary('ReviewWorkload', { workload: evidence(workload) });
      return {
        namespace: String(r.namespace ?? ''),
        serviceAccount: String(r.service_account ?? ''),
        podUid: String(r.pod_uid ?? ''),
        podName: String(r.pod_name ?? ''),
        nodeName: String(r.node_name ?? ''),
      };
    },
    async signX509Svid(call) {
      const request: Wire = { csr: call.csr };
      if (call.workload) request.workload = evidence(call.workload);
      if (call.renewal) request.renewal = { ...call.renewal };
      const r = await unary('SignX509SVID', request);
      return {
        leaf: r.leaf as Buffer,
        intermediates: (r.intermediates as Buffer[] | undefined) ?? [],
        ticket: (r.ticket as Buffer | undefined) ?? Buffer.alloc(0),
        spiffeId: String(r.spiffe_id ?? ''),
        notBefore: Number(r.not_before_unix_ms ?? 0),
        notAfter: Number(r.not_after_unix_ms ?? 0),
      };
    },
    async mintJwtSvid(workload, audience) {
      const r = await unary('MintJWTSVID', { workload: evidence(workload), audience: [...audience] });
      return {
        spiffeId: String(r.spiffe_id ?? ''),
        token: String(r.token ?? ''),
        expiresAt: Number(r.expires_at_unix_ms ?? 0),
        issuedAt: Number(r.issued_at_unix_ms ?? 0),
      };
    },
    watchBundles(handlers) {
      const def = definition.WatchBundles;
      if (!def) throw new TypeError('node service has no WatchBundles');
      let stream: ClientReadableStream<Wire> | undefined;
      let done = false;
      const end = (err: AgentError | undefined) => {
        if (done) return;
        done = true;
        handlers.end(err);
      };
      metadata().then(
        (md) => {
          if (done) return;
          const used = client();
          stream = used.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize as (b: Buffer) => Wire, {}, md, {});
          stream.on('data', (m: Wire) => {
            options.onReachability?.(true);
            handlers.message({
              jwtBundle: (m.jwt_bundle as Buffer | undefined) ?? Buffer.alloc(0),
              issuerFingerprint: String(m.issuer_fingerprint ?? ''),
            });
          });
          stream.on('error', (err: ServiceError) => {
            if (!done) end(failure('WatchBundles', used, err));
          });
          stream.on('end', () => end(undefined));
        },
        (err: AgentError) => end(err),
      );
      return {
        cancel() {
          done = true;
          stream?.cancel();
        },
      };
    },
    close() {
      current?.client.close();
      current = undefined;
    },
  };
}
