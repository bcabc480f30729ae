/**
 * `MintJWTSVID`'s decision: a JWT-SVID only against a fresh workload token bound to the agent's
 * node, never on a renewal ticket (a JWT cannot be revoked), never while the API server is
 * unreachable, never for the issuer's own name.
 */
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import { type JwtKeySet, type MintedJwtSvid, mintJwtSvid } from '../issuer/index.js';
import type { Receiver } from '../value-channel.js';
import type { NodeAuth, NodeCall, WorkloadEvidence } from './node-auth.js';
import { invalidRequest } from './node-errors.js';
import { checkNotOwnName, type OwnNames } from './node-rules.js';

/** `MintJWTSVIDRequest` as the service reads it. */
export interface MintJwtSvidRequest {
  readonly workload: WorkloadEvidence | undefined;
  readonly audience: readonly string[];
}

/** Options of {@link createJwtMinting}. */
export interface JwtMintingOptions {
  readonly auth: NodeAuth;
  /** `undefined` without `--jwt-key`: the call answers UNIMPLEMENTED. */
  readonly keys: Receiver<JwtKeySet> | undefined;
  /** `--jwt-ttl`, ms. */
  readonly ttlMs: number;
  readonly own: OwnNames;
  readonly clock: Clock;
}

/** `MintJWTSVID` of one issuer. */
export interface JwtMinting {
  /**
   * Checks, in order: JWT-SVIDs enabled (`NOT_IMPLEMENTED`); an audience (`INVALID_REQUEST`);
   * the agent token and the workload evidence as for X.509 (no ticket fallback: an unreachable
   * API is `TOKEN_REVIEW_FAILED`); the issuer's own name (`NOT_PERMITTED`).
   */
  mintJwtSvid(call: NodeCall, request: MintJwtSvidRequest): Promise<MintedJwtSvid>;
}

export function createJwtMinting(options: JwtMintingOptions): JwtMinting {
  return {
    async mintJwtSvid(call, request) {
      const keys = options.keys;
      if (!keys) throw new AgentError('NOT_IMPLEMENTED', 'this issuer mints no jwt-svids (it has no --jwt-key)');
      if (request.audience.length === 0 || request.audience.some((a) => a === '')) {
        throw invalidRequest('a jwt-svid needs at least one non-empty audience');
      }
      const { node } = await options.auth.agent(call, { allowUnreachable: false });
      const reviewed = await options.auth.workload(call, request.workload, node as string);
      checkNotOwnName(reviewed.identity, options.own);
      return mintJwtSvid({
        key: keys.get().signer,
        spiffeId: reviewed.identity.spiffeId,
        audience: request.audience,
        ttlMs: options.ttlMs,
        now: options.clock.now(),
      });
    },
  };
}
