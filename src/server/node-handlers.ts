/**
 * The node service's gRPC handlers, thin: read the request into the service's types, run the
 * decision with an abort signal of the call, answer, and on failure send the status of the one
 * mapping (`node-status.ts`), log once with the reason and count it. Never logs a token, a ticket
 * or a key.
 */
import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { callerGone } from '../abort.js';
import { type AnyServerCall, callSignal } from '../call-signal.js';
import { describeError } from '../errors.js';
import { LOG_FIELD, type Logger } from '../log.js';
import type { BundleWatch } from './bundle-watch.js';
import type { JwtMinting } from './jwt-minting.js';
import type { IssuerMetrics, NodeRequestKind } from './metrics.js';
import type { NodeAuth, NodeCall, WorkloadEvidence } from './node-auth.js';
import { reasonOf } from './node-errors.js';
import { nodeServiceStatus } from './node-status.js';
import type { RenewalProof, X509Issuance } from './x509-issuance.js';

/** The wire messages, as protos.ts gives them (`keepCase`, bytes as Buffers, defaults set). */
interface WireEvidence {
  token: string;
  pod_uid: string;
}
interface WireRenewal {
  ticket: Buffer;
  certificate: Buffer;
  signature: Buffer;
}
interface WireSignRequest {
  csr: Buffer;
  workload: WireEvidence | null;
  renewal: WireRenewal | null;
}
interface WireReviewRequest {
  workload: WireEvidence | null;
}
interface WireMintRequest {
  workload: WireEvidence | null;
  audience: string[];
}

/** What the handlers run. */
export interface NodeHandlerDeps {
  readonly auth: NodeAuth;
  readonly x509: X509Issuance;
  readonly jwt: JwtMinting;
  readonly bundles: BundleWatch;
  readonly metrics: IssuerMetrics;
  readonly logger: Logger;
}

type AnyCall = AnyServerCall;

/** The call as the service sees it, and `done` to detach its signal once the handler's work has settled. */
function nodeCall(call: AnyCall): { context: NodeCall; done: () => void } {
  const { signal, done } = callSignal(call);
  return { context: { authorization: call.metadata.get('authorization'), signal, fields: {} }, done };
}

const evidence = (wire: WireEvidence | null | undefined): WorkloadEvidence | undefined =>
  wire ? { token: wire.token, podUid: wire.pod_uid } : undefined;

const renewal = (wire: WireRenewal | null | undefined): RenewalProof | undefined =>
  wire ? { ticket: wire.ticket, certificate: wire.certificate, signature: wire.signature } : undefined;

/** Builds the `NodeIssuer` service implementation. */
export function createNodeHandlers(deps: NodeHandlerDeps): UntypedServiceImplementation {
  const log = deps.logger.child({ [LOG_FIELD.subsystem]: 'node_service' });

  function fail(kind: NodeRequestKind, call: AnyCall, context: NodeCall, err: unknown): { code: status; details: string } {
    const st = nodeServiceStatus(call.cancelled ? callerGone() : err);
    const outcome = status[st.code] ?? String(st.code);
    const reason = reasonOf(call.cancelled ? callerGone() : err);
    const fields = { kind, ...context.fields, code: outcome, [LOG_FIELD.reason]: reason, [LOG_FIELD.error]: describeError(err) };
    if (st.code === status.UNAVAILABLE || st.code === status.INTERNAL) log.warn(fields, 'node request failed');
    else log.info(fields, 'node request refused');
    deps.metrics.onRequest(kind, outcome, reason);
    return st;
  }

  function unary<Req, Res>(kindOf: (request: Req) => NodeRequestKind, body: (request: Req, context: NodeCall) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const { context, done } = nodeCall(call as ServerUnaryCall<unknown, unknown>);
      const kind = kindOf(call.request);
      body(call.request, context).then(
        (response) => {
          done();
          deps.metrics.onRequest(kind, 'OK', undefined);
          log.debug({ kind, ...context.fields }, 'node request served');
          callback(null, response);
        },
        (err: unknown) => {
          done();
          callback(fail(kind, call as ServerUnaryCall<unknown, unknown>, context, err));
        },
      );
    };
  }

  return {
    ReviewWorkload: unary<WireReviewRequest, object>(
      () => 'review_workload',
      async (request, context) => {
        const { node } = await deps.auth.agent(context, { allowUnreachable: false });
        const { token } = await deps.auth.workload(context, evidence(request.workload), node as string);
        return {
          namespace: token.account.namespace,
          service_account: token.account.name,
          pod_uid: token.podUid,
          pod_name: token.podName ?? '',
          node_name: token.nodeName,
        };
      },
    ),
    SignX509SVID: unary<WireSignRequest, object>(
      (request) => (request.renewal ? 'renew_x509_svid' : 'sign_x509_svid'),
      async (request, context) => {
        const issued = await deps.x509.signX509Svid(context, {
          csr: request.csr,
          workload: evidence(request.workload),
          renewal: renewal(request.renewal),
        });
        deps.metrics.onX509Issued(issued.basis);
        context.fields.basis = issued.basis;
        context.fields[LOG_FIELD.serial] = issued.serialHex;
        return {
          leaf: issued.leaf,
          intermediates: issued.intermediates,
          ticket: issued.ticket,
          spiffe_id: issued.identity.spiffeId,
          not_after_unix_ms: issued.notAfter,
          not_before_unix_ms: issued.notBefore,
        };
      },
    ),
    MintJWTSVID: unary<WireMintRequest, object>(
      () => 'mint_jwt_svid',
      async (request, context) => {
        const minted = await deps.jwt.mintJwtSvid(context, { workload: evidence(request.workload), audience: request.audience });
        deps.metrics.onJwtMinted();
        return {
          spiffe_id: minted.spiffeId,
          token: minted.token,
          expires_at_unix_ms: minted.expiresAt,
          issued_at_unix_ms: minted.issuedAt,
        };
      },
    ),
    WatchBundles(call: ServerWritableStream<unknown, unknown>) {
      const { context, done } = nodeCall(call);
      deps.auth.agent(context, { allowUnreachable: true }).then(
        () => {
          done();
          deps.metrics.onRequest('watch_bundles', 'OK', undefined);
          deps.bundles.watch(call);
        },
        (err: unknown) => {
          done();
          const st = fail('watch_bundles', call, context, err);
          if (!call.cancelled) call.emit('error', st);
        },
      );
    },
  };
}
