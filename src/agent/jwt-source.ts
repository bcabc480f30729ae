/**
 * Where the JWT methods of the Workload API get their keys and tokens: the agent's own JWT key
 * (`--jwt-key`), or the central issuer (`--issuer-addr`), which mints each JWT-SVID against the
 * caller's fresh token and streams its bundle (WatchBundles), kept through outages so that
 * FetchJWTBundles and ValidateJWTSVID go on working while it is away.
 */
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import type { Attestation } from '../attestor/index.js';
import { AgentError } from '../errors.js';
import type { WorkloadIdentity } from '../identity.js';
import { type JwtKeySet, type JwtPublicKey, type MintedJwtSvid, mintJwtSvid } from '../issuer/index.js';
import type { Receiver } from '../value-channel.js';
import type { NodeIssuerClient } from './node-client.js';
import { evidenceOf } from './remote-x509-issuer.js';

/** The keys the Workload API publishes and validates with. */
export interface JwtBundle {
  /** Published and accepted, the key signing now first; empty when no JWT-SVIDs are minted. */
  readonly keys: readonly JwtPublicKey[];
}

/** One JWT-SVID to mint, for an attested caller. */
export interface JwtMintRequest {
  readonly identity: WorkloadIdentity;
  /** The caller's attestation, just made: its token is the evidence a central issuer checks. */
  readonly attestation: Attestation;
  readonly audience: readonly string[];
  /** Current time, ms. */
  readonly now: number;
}

/** Keys and minting for the JWT methods. */
export interface JwtSource {
  /** The bundle; `undefined` until known (a central issuer not heard from yet). */
  readonly bundle: Receiver<JwtBundle | undefined>;
  /** The `kid` signing new tokens now: cached tokens of another key are not reused. */
  signingKid(): string | undefined;
  mint(request: JwtMintRequest): Promise<MintedJwtSvid>;
}

/**
 * The agent's own key signs.
 * @throws TypeError when `ttlMs` is under one second
 */
export function localJwtSource(keys: Receiver<JwtKeySet>, ttlMs: number): JwtSource {
  if (!(ttlMs >= 1000)) throw new TypeError('ttlMs must be at least 1000');
  return {
    bundle: keys,
    signingKid: () => keys.get().signer.kid,
    mint: ({ identity, audience, now }) => mintJwtSvid({ key: keys.get().signer, spiffeId: identity.spiffeId, audience, ttlMs, now }),
  };
}

/** The central issuer mints; `bundle` is what its WatchBundles stream last said. */
export function remoteJwtSource(client: Pick<NodeIssuerClient, 'mintJwtSvid'>, bundle: Receiver<JwtBundle | undefined>): JwtSource {
  return {
    bundle,
    signingKid: () => bundle.get()?.keys[0]?.kid,
    async mint({ identity, attestation, audience }) {
      const workload = evidenceOf(attestation);
      if (!workload) throw new AgentError('NO_IDENTITY', 'the caller was attested without a token and a pod to send as evidence');
      const reply = await client.mintJwtSvid(workload, audience);
      if (reply.spiffeId !== identity.spiffeId) {
        throw new AgentError('ISSUER_CALL_FAILED', `the issuer minted a JWT-SVID for ${reply.spiffeId}, not ${identity.spiffeId}`);
      }
      let kid: unknown;
      try {
        kid = decodeProtectedHeader(reply.token).kid;
      } catch (err) {
        throw new AgentError('ISSUER_CALL_FAILED', 'the issuer minted a JWT-SVID that does not parse', { cause: err });
      }
      return { token: reply.token, spiffeId: reply.spiffeId, kid: String(kid ?? ''), issuedAt: reply.issuedAt, expiresAt: reply.expiresAt };
    },
  };
}
