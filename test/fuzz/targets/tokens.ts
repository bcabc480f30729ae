/**
 * Tokens: the bearer `authorization` value as a caller sends it, the cache lifetime read from the
 * token's `exp`, then the TokenReview validator with a fake API answering mutated TokenReview
 * responses (and now and then failing).
 */
import { createTokenReviewValidator, reviewCacheTtlMs, type TokenReviewValidator } from '../../../src/attestor/token-review.js';
import { parseBearerAuthorization } from '../../../src/attestor/token-source.js';
import { silentLogger } from '../../../src/log.js';
import { mutateJson, mutateText } from '../mutate.js';
import type { Rng } from '../prng.js';
import { type FuzzTarget, showText } from '../runner.js';

interface TokenInput {
  readonly authorization: string;
  readonly response: unknown;
  readonly apiFails: boolean;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Creates the tokens target. */
export function tokensTarget(): FuzzTarget<TokenInput> {
  const now = Date.now();
  const payload = {
    aud: ['identity.l5d.io'],
    exp: Math.floor(now / 1000) + 3600,
    sub: 'system:serviceaccount:emojivoto:web',
    'kubernetes.io': { namespace: 'emojivoto', pod: { name: 'web-1', uid: 'u-1' } },
  };
  const token = `${b64({ alg: 'RS256', kid: 'k' })}.${b64(payload)}.${Buffer.from('signature').toString('base64url')}`;
  const response = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    status: {
      authenticated: true,
      audiences: ['identity.l5d.io'],
      user: {
        username: 'system:serviceaccount:emojivoto:web',
        uid: 'uid-1',
        groups: ['system:serviceaccounts'],
        extra: {
          'authentication.kubernetes.io/pod-uid': ['u-1'],
          'authentication.kubernetes.io/pod-name': ['web-1'],
          'authentication.kubernetes.io/node-name': ['node-1'],
        },
      },
    },
  };
  let current: TokenInput = { authorization: '', response, apiFails: false };
  let validator: TokenReviewValidator | undefined;
  return {
    name: 'tokens',
    codes: ['TOKEN_INVALID', 'TOKEN_NOT_AUTHENTICATED', 'TOKEN_REVIEW_FAILED'],
    fullInputs: 100_000,
    smokeInputs: 300,
    async setup() {
      validator = createTokenReviewValidator({
        api: {
          async createTokenReview() {
            if (current.apiFails) throw Object.assign(new Error('boom'), { code: 503 });
            return current.response as never;
          },
        },
        logger: silentLogger(),
        clock: { now: () => now },
        // Every input reaches the response rules; the cache's own reading of the token is run below.
        cacheTtlMs: 0,
      });
    },
    input(rng: Rng) {
      const shape = rng.int(10);
      const value =
        shape < 3
          ? `${b64({ alg: 'RS256' })}.${b64(mutateJson(rng, payload))}.c2ln`
          : shape < 5
            ? mutateText(rng, token, ['.', 'eyJ', '='])
            : token;
      const prefix = rng.chance(0.8) ? 'Bearer ' : rng.pick(['bearer  ', 'BEARER\t', 'Basic ', '', ' Bearer ']);
      const authorization = rng.chance(0.8) ? `${prefix}${value}` : mutateText(rng, `${prefix}${value}`, ['Bearer ', ' ', '\t']);
      return { authorization, response: rng.chance(0.2) ? response : mutateJson(rng, response), apiFails: rng.chance(0.05) };
    },
    async run(input) {
      current = input;
      const bearer = parseBearerAuthorization(input.authorization);
      if (bearer === undefined) return;
      const ttl = reviewCacheTtlMs(bearer, now, 60_000);
      if (!(ttl >= 0 && ttl <= 60_000)) throw new Error(`cache ttl out of range: ${ttl}`);
      await validator?.validate(bearer);
    },
    show: (input) => `authorization ${showText(input.authorization, 120)}; response ${showText(JSON.stringify(input.response), 300)}`,
    async teardown() {
      validator?.close();
    },
  };
}
