/**
 * The one function that signs X.509-SVIDs (docs/certificates.md), given an identity and a public key: the
 * agent's embedded issuer calls it with the key it just generated, Certify calls it after its
 * CSR and token checks. Picks the issuer in use, the validity (backdated by the clock skew,
 * clamped to the issuer chain), a random serial; SPIRE's `ca.SignWorkloadX509SVID` takes a public
 * key the same way.
 */
import type { Clock } from '../clock.js';
import { AgentError, isAgentError } from '../errors.js';
import type { WorkloadIdentity } from '../identity.js';
import type { Logger } from '../log.js';
import { LOG_FIELD } from '../log-fields.js';
import type { Receiver } from '../value-channel.js';
import type { IssuerCredentials } from './credentials.js';
import { randomSerial } from './serial.js';
import type { WorkloadKey } from './workload-key.js';

/** Options of {@link createX509SvidSigner}. */
export interface X509SvidSignerOptions {
  /** The current issuer; `undefined` until one is loaded. */
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly clock: Clock;
  /** Leaf lifetime, ms (`--svid-ttl`, default 24 h). */
  readonly lifetimeMs: number;
  /** Backdating and extra lifetime for clock skew, ms (`--clock-skew`, default 20 s). */
  readonly clockSkewMs: number;
  readonly logger: Logger;
}

/** A signed leaf and what the caller needs to serve, rotate and log it. */
export interface SignedX509Svid {
  /** DER leaf. */
  readonly leaf: Buffer;
  /** DER issuer, then the rest of the issuer's certificate file. */
  readonly intermediates: readonly Buffer[];
  /** Leaf validity, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serialHex: string;
}

/** Signs X.509-SVIDs with the issuer in use. */
export interface X509SvidSigner {
  /**
   * The issuer signing now (Certify checks it first).
   * @throws AgentError `ISSUER_NOT_READY` when none is loaded
   */
  issuerInUse(): IssuerCredentials;
  /**
   * Signs a leaf for `identity` certifying `subjectPublicKeySpki` (EC P-256 or P-384; callers
   * check untrusted keys first, as Certify does).
   * `notAfterAtMost` shortens the leaf further (a renewal on a ticket alone ends with the ticket).
   * @throws AgentError `ISSUER_NOT_READY` when no issuer is loaded, `SIGNING_FAILED` when the
   *   issuer chain has expired or signing fails
   */
  sign(identity: WorkloadIdentity, subjectPublicKeySpki: Uint8Array, options?: { readonly notAfterAtMost?: number }): SignedX509Svid;
  /**
   * The agent's issuing port, in process: signs the public half of the workload key. Attestation
   * evidence and renewal state, which a remote issuer needs, play no part here.
   * @throws as {@link X509SvidSigner.sign}
   */
  issueX509Svid(request: { readonly identity: WorkloadIdentity; readonly key: WorkloadKey }): Promise<SignedX509Svid>;
}

/**
 * Creates the signer.
 * @throws TypeError when `lifetimeMs` is not positive or `clockSkewMs` is negative
 */
export function createX509SvidSigner(options: X509SvidSignerOptions): X509SvidSigner {
  const { clock, lifetimeMs, clockSkewMs } = options;
  if (!(lifetimeMs > 0)) throw new TypeError('lifetimeMs must be positive');
  if (!(clockSkewMs >= 0)) throw new TypeError('clockSkewMs must not be negative');
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'x509_svid_signer' });

  function currentIssuer(): IssuerCredentials {
    const issuer = options.issuer.get();
    if (!issuer) throw new AgentError('ISSUER_NOT_READY', 'cert issuer not ready yet');
    return issuer;
  }

  function sign(
    identity: WorkloadIdentity,
    subjectPublicKeySpki: Uint8Array,
    limit?: { readonly notAfterAtMost?: number },
  ): SignedX509Svid {
    const issuer = currentIssuer();
    const now = clock.now();
    const notBefore = now - clockSkewMs;
    const notAfter = Math.min(now + lifetimeMs + clockSkewMs, issuer.notAfter, limit?.notAfterAtMost ?? Number.POSITIVE_INFINITY);
    if (notAfter <= now) throw new AgentError('SIGNING_FAILED', 'issuer chain has expired');
    const serial = randomSerial();
    let leaf: Buffer;
    try {
      leaf = issuer.signer.sign({
        serial,
        notBefore,
        notAfter,
        subjectPublicKeySpki,
        spiffeId: identity.spiffeId,
        dnsName: identity.dnsName,
      });
    } catch (err) {
      if (isAgentError(err)) throw err;
      throw new AgentError('SIGNING_FAILED', 'signing the certificate failed', { cause: err });
    }
    const serialHex = serial.toString('hex');
    if (log.isLevelEnabled('debug')) {
      log.debug(
        { [LOG_FIELD.spiffeId]: identity.spiffeId, [LOG_FIELD.serial]: serialHex, [LOG_FIELD.notAfter]: new Date(notAfter).toISOString() },
        'issued leaf certificate',
      );
    }
    return { leaf, intermediates: issuer.chainDer, notBefore, notAfter, serialHex };
  }

  return {
    issuerInUse: currentIssuer,
    sign,
    issueX509Svid: async ({ identity, key }) => sign(identity, key.publicKeySpki),
  };
}
