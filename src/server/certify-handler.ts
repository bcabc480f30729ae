/**
 * Linkerd's `io.linkerd.proxy.identity.Identity/Certify` on the issuer's port
 * (docs/linkerd-identity.md), thin: read the request, run the certifier of `src/issuer/certify.ts`,
 * answer; on failure send the status of its one mapping (`certifyStatus`), log once and count it.
 * A proxy asks for itself with its own pod's token, so the node service's node rule has no part
 * here. Never logs the token.
 *
 * A call the client cancels ends at once as CANCELLED, without a signal passed down: the one wait
 * in a Certify is its TokenReview, which goes on anyway to fill the cache, and an `AbortSignal`
 * costs Node 20 ~6 µs to make, 1.5 % of a Certify (docs/decisions.md, "Cancellation").
 */
import { type ServerUnaryCall, type sendUnaryData, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { callerGone } from '../abort.js';
import { describeError } from '../errors.js';
import { type Certifier, certifyStatus } from '../issuer/index.js';
import { LOG_FIELD, type Logger } from '../log.js';
import type { IssuerMetrics } from './metrics.js';

/** `CertifyRequest` as protos.ts gives it (`keepCase`, bytes as Buffers, defaults set). */
interface WireCertifyRequest {
  identity: string;
  token: Buffer;
  certificate_signing_request: Buffer;
}

/** `CertifyResponse` as protos.ts encodes it. */
interface WireCertifyResponse {
  leaf_certificate: Buffer;
  intermediate_certificates: readonly Buffer[];
  valid_until: { seconds: number; nanos: number };
}

/** What the handler runs. */
export interface CertifyHandlerDeps {
  readonly certifier: Certifier;
  readonly metrics: Pick<IssuerMetrics, 'onCertify'>;
  readonly logger: Logger;
}

/** A `google.protobuf.Timestamp` for ms since the epoch. */
export function timestampOf(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** Builds the `Identity` service implementation. */
export function createCertifyHandler(deps: CertifyHandlerDeps): UntypedServiceImplementation {
  const log = deps.logger.child({ [LOG_FIELD.subsystem]: 'certify' });
  return {
    Certify(call: ServerUnaryCall<WireCertifyRequest, WireCertifyResponse>, callback: sendUnaryData<WireCertifyResponse>) {
      const { identity, token, certificate_signing_request: csr } = call.request;
      // The call ends once: with the certifier's answer, or when the client cancels first.
      let ended = false;
      const refuse = (st: { code: status; details: string }, err: unknown) => {
        ended = true;
        const outcome = status[st.code] ?? String(st.code);
        deps.metrics.onCertify(outcome);
        const fields = { [LOG_FIELD.identity]: identity, code: outcome, [LOG_FIELD.error]: describeError(err) };
        if (st.code === status.INTERNAL || st.code === status.UNAVAILABLE) log.warn(fields, 'certify failed');
        else log.info(fields, 'certify refused');
        callback(st);
      };
      const cancelled = () => refuse({ code: status.CANCELLED, details: 'the call was cancelled' }, callerGone());
      if (call.cancelled) return cancelled();
      // grpc-js also emits `cancelled` after a call it has ended; the listener goes before that.
      call.once('cancelled', cancelled);
      deps.certifier.certify({ identity, token: token.toString('utf8'), csr }).then(
        (certified) => {
          call.off('cancelled', cancelled);
          if (ended) return;
          ended = true;
          deps.metrics.onCertify('OK');
          if (log.isLevelEnabled('info')) {
            log.info(
              {
                [LOG_FIELD.identity]: identity,
                [LOG_FIELD.serial]: certified.serialHex,
                [LOG_FIELD.notAfter]: new Date(certified.validUntil).toISOString(),
              },
              'certified',
            );
          }
          callback(null, {
            leaf_certificate: certified.leaf,
            intermediate_certificates: certified.intermediates,
            valid_until: timestampOf(certified.validUntil),
          });
        },
        (err: unknown) => {
          call.off('cancelled', cancelled);
          if (!ended) refuse(certifyStatus(err, identity), err);
        },
      );
    },
  };
}
