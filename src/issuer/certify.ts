/**
 * Linkerd's `Certify` (docs/linkerd-identity.md) as a function, for a Certify gRPC server: the order of checks and
 * their error codes are the contract; `certify-status.ts` maps the codes to gRPC statuses. After
 * its CSR and token checks it signs with the same {@link createX509SvidSigner} the agent's
 * embedded issuer uses; CSRs exist only here, where they cross the network.
 */
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import { type NamingConfig, type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import type { Logger } from '../log.js';
import type { TokenValidator } from '../token-validator.js';
import type { Receiver } from '../value-channel.js';
import type { IssuerCredentials } from './credentials.js';
import { parseCsr } from './csr.js';
import { checkCsr } from './csr-rules.js';
import { curveNamed } from './curves.js';
import { createX509SvidSigner, type SignedX509Svid } from './x509-svid-signer.js';

/**
 * Longest requested identity, characters: a SPIFFE ID's bound (DNS names are at most 253). The
 * identity is echoed in refusals and logs, so a longer one is refused before anything else.
 */
export const MAX_CERTIFY_IDENTITY_LENGTH = 2048;

/** `CertifyRequest` (identity = 1, token = 2, certificate_signing_request = 3). */
export interface CertifyRequest {
  /** DNS-form name or `spiffe://` ID. */
  readonly identity: string;
  /** The token proving the identity (a service-account JWT). */
  readonly token: string;
  /** DER PKCS#10. */
  readonly csr: Uint8Array;
}

/** `CertifyResponse` (leaf, intermediates, valid_until), plus what the caller needs to log. */
export interface CertifyResult extends SignedX509Svid {
  /** The leaf's notAfter, as Linkerd names it. */
  readonly validUntil: number;
  readonly identity: WorkloadIdentity;
}

export interface CertifierOptions {
  /** The current issuer; `undefined` until one is loaded. */
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly validator: TokenValidator;
  readonly naming: NamingConfig;
  readonly clock: Clock;
  /** Leaf lifetime, ms (`--svid-ttl`, default 24 h). */
  readonly lifetimeMs: number;
  /** Backdating and extra lifetime for clock skew, ms (`--clock-skew`, default 20 s). */
  readonly clockSkewMs: number;
  readonly logger: Logger;
  /**
   * An identity never signed, in either form, even for its own account's token: the central
   * issuer's own server name (`--server-name`) and its SPIFFE ID. Default none.
   */
  readonly reserved?: { readonly dnsName: string; readonly spiffeId: string | undefined } | undefined;
}

export interface Certifier {
  /**
   * Checks, in order: issuer loaded (`ISSUER_NOT_READY`); identity (at most
   * {@link MAX_CERTIFY_IDENTITY_LENGTH} characters), token and CSR present and the CSR parses
   * (`INVALID_REQUEST`); the issuer chain has not expired (`ISSUER_NOT_READY`);
   * CSR rules and signature (`CSR_REJECTED`); the token
   * (`TOKEN_NOT_AUTHENTICATED` / `TOKEN_INVALID` / `TOKEN_REVIEW_FAILED`), which must be bound to
   * a pod (`TOKEN_INVALID`); the token's identity is the one requested (`IDENTITY_MISMATCH`);
   * the identity is not reserved (`NOT_PERMITTED`); signing (`SIGNING_FAILED`).
   */
  certify(request: CertifyRequest): Promise<CertifyResult>;
}

/** Creates a {@link Certifier}. */
export function createCertifier(options: CertifierOptions): Certifier {
  const { naming, validator, clock } = options;
  const signer = createX509SvidSigner(options);

  return {
    async certify(request) {
      const issuer = signer.issuerInUse();
      if (!request.identity) throw new AgentError('INVALID_REQUEST', 'missing identity');
      if (request.identity.length > MAX_CERTIFY_IDENTITY_LENGTH) {
        throw new AgentError('INVALID_REQUEST', `identity is longer than ${MAX_CERTIFY_IDENTITY_LENGTH} characters`);
      }
      if (!request.token) throw new AgentError('INVALID_REQUEST', 'missing token');
      if (!request.csr || request.csr.length === 0) throw new AgentError('INVALID_REQUEST', 'missing certificate signing request');
      const csr = parseCsr(request.csr);
      // Where Linkerd checks that its issuer still verifies (pkg/identity/service.go,
      // ensureIssuerStillValid) and fails with a plain error, we answer ISSUER_NOT_READY
      // (UNAVAILABLE), before any TokenReview: docs/decisions.md, "Certify compared with Linkerd".
      if (issuer.notAfter <= clock.now()) {
        throw new AgentError(
          'ISSUER_NOT_READY',
          `cert issuer is not valid: its chain expired at ${new Date(issuer.notAfter).toISOString()}`,
        );
      }
      checkCsr(csr, request.identity);

      const validated = await validator.validate(request.token);
      // Stricter than Linkerd, which takes any service-account token: a proxy sends its pod's
      // projected token, and a token bound to no pod (a legacy Secret token) never expires.
      if (validated.podUid === undefined) {
        throw new AgentError('TOKEN_INVALID', 'token is not bound to a pod: a projected service-account token is required');
      }
      const identity = workloadIdentityFor(validated.account, naming);
      const spiffeForm = request.identity.toLowerCase().startsWith('spiffe://');
      const found = spiffeForm ? identity.spiffeId : identity.dnsName;
      if (request.identity !== found) {
        throw new AgentError(
          'IDENTITY_MISMATCH',
          `requested identity did not match provided token: requested=${request.identity}; found=${found}`,
        );
      }
      const { reserved } = options;
      if (reserved && (identity.dnsName === reserved.dnsName || identity.spiffeId === reserved.spiffeId)) {
        throw new AgentError('NOT_PERMITTED', 'the issuer does not sign its own server name for anyone else');
      }

      if (csr.publicKeyAlgorithm !== 'ec' || !curveNamed(csr.namedCurve)?.certificates) {
        throw new AgentError('SIGNING_FAILED', `CSR must contain an ECDSA P-256 or P-384 public key, found ${csr.publicKeyAlgorithm}`);
      }
      // Spelled out: spreading `signed` costs several µs on this path (docs/performance.md).
      const { leaf, intermediates, notBefore, notAfter, serialHex } = signer.sign(identity, csr.publicKeySpki);
      return { leaf, intermediates, notBefore, notAfter, serialHex, validUntil: notAfter, identity };
    },
  };
}
