/**
 * Tokens for Certify when the agent itself has done the attestation.
 *
 * Certify proves identity with a token (SPEC §4). Inside the agent the proof is the attestation
 * of a connected caller, which may have used a TokenReview minutes ago (whose token may since
 * have expired, or whose API server may be down — rotations must survive both, issue 3/5). So
 * the agent grants Certify a one-time, in-memory token bound to the attested account; this
 * validator is the only thing that accepts it. Nothing outside the process ever sees a grant.
 */
import { randomBytes } from 'node:crypto';
import { AgentError } from '../errors.js';
import type { AccountRef } from '../identity.js';
import type { TokenValidator } from '../token-validator.js';

export interface AttestedGrants extends TokenValidator {
  /** A fresh token proving `account`; pass it to Certify, then {@link revoke} it. */
  grant(account: AccountRef): string;
  revoke(token: string): void;
}

export function createAttestedGrants(): AttestedGrants {
  const grants = new Map<string, AccountRef>();
  return {
    grant(account) {
      const token = randomBytes(24).toString('base64url');
      grants.set(token, account);
      return token;
    },
    revoke(token) {
      grants.delete(token);
    },
    async validate(token) {
      const account = grants.get(token);
      if (!account) throw new AgentError('TOKEN_NOT_AUTHENTICATED', 'unknown attestation grant');
      return { account, audiences: [] };
    },
  };
}
