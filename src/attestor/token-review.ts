/**
 * Token → identity with a Kubernetes TokenReview (docs/linkerd-identity.md, docs/kubernetes.md): the {@link TokenValidator} of both
 * the k8s attestor and the embedded issuer's Certify, behind the cache of `validation-cache.ts`
 * (success reused ≤ 60 s and never past the token's `exp`; failures never cached).
 *
 * A review is bounded by its own timeout only. A caller that goes away stops waiting at once, but
 * its review goes on and fills the cache: aborting an HTTP/1.1 request destroys the kept-alive
 * connection, which callers could then force at will.
 */
import { performance } from 'node:perf_hooks';
import type { V1TokenReview, V1TokenReviewStatus } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import { type AccountRef, isDns1123Label } from '../identity.js';
import { LOG_FIELD, type Logger } from '../log.js';
import type { TokenValidator, ValidatedToken } from '../token-validator.js';
import {
  DEFAULT_KUBE_TIMEOUT_MS,
  describeKubeFailure,
  httpStatusOf,
  KubeApiUnavailableError,
  type KubeCallOptions,
} from './kube-client.js';
import { type CachingTokenValidator, createCachingValidator } from './validation-cache.js';

export { MAX_REVIEW_CACHE_TTL_MS, reviewCacheTtlMs } from './validation-cache.js';

/** `--token-audience` default: the audience of Linkerd's projected identity token. */
export const DEFAULT_TOKEN_AUDIENCE = 'identity.l5d.io';

/** `status.user.extra` key of a bound token's pod UID. */
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
/** `status.user.extra` key of a bound token's pod name. */
export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
/** `status.user.extra` key of a bound token's node name (Kubernetes 1.30+ with node info in tokens). */
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';

/** The one call the validator makes (satisfied by `createKubeApi`). */
export interface TokenReviewApi {
  createTokenReview(review: V1TokenReview, options?: KubeCallOptions): Promise<V1TokenReview>;
}

/** One TokenReview call as seen from the agent (metrics); cache hits are not calls. */
export interface TokenReviewObservation {
  /** Wall time of the call, ms. */
  readonly durationMs: number;
  /** `ok` when the API answered, `error` when the call failed (refused, unreachable, timeout). */
  readonly result: 'ok' | 'error';
}

/** Options of {@link createTokenReviewValidator}. */
export interface TokenReviewValidatorOptions {
  readonly api: TokenReviewApi;
  readonly logger: Logger;
  /** Audience asked for and required in `status.audiences`; default {@link DEFAULT_TOKEN_AUDIENCE}. */
  readonly audience?: string;
  /** Default the wall clock. Decides cache expiry. */
  readonly clock?: Clock;
  /** Bound on one TokenReview call, ms; default 5000. */
  readonly timeoutMs?: number;
  /** Longest reuse of a successful review, ms; default and maximum 60000; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** Most cached reviews kept; default 10000, the least recently used dropped beyond it. */
  readonly cacheMaxEntries?: number;
  /** Told about every TokenReview call (metrics). Must not throw. */
  readonly onReview?: (observation: TokenReviewObservation) => void;
}

/** A {@link TokenValidator} holding a cache; `close()` stops its sweep timer. */
export type TokenReviewValidator = CachingTokenValidator;

/** True for a list of strings; the API's JSON is checked, not trusted to match its type (issue 15). */
function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function singleExtra(extra: Record<string, string[]> | undefined, key: string): string | undefined {
  const values: unknown = extra?.[key];
  if (values === undefined || values === null) return undefined;
  if (!isStringList(values)) throw new AgentError('TOKEN_INVALID', `tokenreview extra ${key} is not a list of strings`);
  if (values.length > 1) throw new AgentError('TOKEN_INVALID', `tokenreview extra ${key} has more than one value`);
  return values[0];
}

/** Splits `system:<type>:<namespace>:<name>` (docs/linkerd-identity.md), or returns `undefined` when it is not that. */
export function accountFromUsername(username: string): AccountRef | undefined {
  const parts = username.split(':');
  if (parts.length !== 4 || parts[0] !== 'system') return undefined;
  const [, type, namespace, name] = parts as [string, string, string, string];
  if (![type, namespace, name].every(isDns1123Label)) return undefined;
  return { type, namespace, name };
}

/**
 * Turns a TokenReview `status` into what the token proves, by the rules in docs/linkerd-identity.md, in order.
 * @throws AgentError `TOKEN_INVALID` when `error` is set (the API's text goes in `cause`), when
 *   `audiences` lacks `audience`, or when the username is not `system:<type>:<ns>:<name>` with
 *   DNS-1123 labels; `TOKEN_NOT_AUTHENTICATED` when `authenticated` is not true;
 *   `TOKEN_REVIEW_FAILED` when there is no status at all
 */
export function validatedTokenFromStatus(status: V1TokenReviewStatus | undefined, audience: string): ValidatedToken {
  if (typeof status !== 'object' || status === null) throw new AgentError('TOKEN_REVIEW_FAILED', 'tokenreview response has no status');
  if (status.error)
    throw new AgentError('TOKEN_INVALID', 'tokenreview reported an error for the token', { cause: new Error(String(status.error)) });
  if (status.authenticated !== true) throw new AgentError('TOKEN_NOT_AUTHENTICATED', 'token is not authenticated');
  const audiences: unknown = status.audiences ?? [];
  if (!isStringList(audiences) || !audiences.includes(audience)) {
    throw new AgentError('TOKEN_INVALID', `token audiences do not include ${audience}`, {
      cause: new Error(`status.audiences: ${JSON.stringify(audiences)}`),
    });
  }
  const name: unknown = status.user?.username;
  const username = typeof name === 'string' ? name : '';
  const account = accountFromUsername(username);
  if (!account) {
    throw new AgentError('TOKEN_INVALID', 'token username is not system:<type>:<namespace>:<name> with DNS-1123 labels', {
      cause: new Error(`username: ${JSON.stringify(username)}`),
    });
  }
  const extra = status.user?.extra;
  const podUid = singleExtra(extra, EXTRA_POD_UID);
  const podName = singleExtra(extra, EXTRA_POD_NAME);
  const nodeName = singleExtra(extra, EXTRA_NODE_NAME);
  // Absent extras stay absent keys; set one by one, since spreading costs µs on every review.
  const validated: { -readonly [K in keyof ValidatedToken]: ValidatedToken[K] } = { account, audiences: Object.freeze([...audiences]) };
  if (podUid !== undefined) validated.podUid = podUid;
  if (podName !== undefined) validated.podName = podName;
  if (nodeName !== undefined) validated.nodeName = nodeName;
  return validated;
}

/**
 * Creates the TokenReview validator. Each review asks for `[audience]` and is bounded by
 * `timeoutMs`; the caller's signal only ends the caller's wait (`CANCELLED`).
 * @throws TypeError for a negative or non-finite `timeoutMs`/`cacheTtlMs`, or an empty audience
 */
export function createTokenReviewValidator(options: TokenReviewValidatorOptions): TokenReviewValidator {
  const audience = options.audience ?? DEFAULT_TOKEN_AUDIENCE;
  const timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS;
  if (audience === '') throw new TypeError('token audience must not be empty');
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new TypeError(`timeoutMs must be positive: ${timeoutMs}`);
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'token-review' });

  async function review(token: string): Promise<V1TokenReview> {
    const body: V1TokenReview = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [audience] },
    };
    const started = performance.now();
    try {
      const answer = await options.api.createTokenReview(body, { timeoutMs });
      options.onReview?.({ durationMs: performance.now() - started, result: 'ok' });
      return answer;
    } catch (err) {
      options.onReview?.({ durationMs: performance.now() - started, result: 'error' });
      const status = httpStatusOf(err);
      const reason = describeKubeFailure(err);
      if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
        // The agent's own request was refused (401/403: its credentials or RBAC): operators must act.
        log.error(
          { [LOG_FIELD.reason]: reason },
          'the kubernetes api refused the agent tokenreview; check its credentials and its rbac (create tokenreviews)',
        );
      } else {
        log.warn({ [LOG_FIELD.reason]: reason }, 'tokenreview failed');
      }
      throw new KubeApiUnavailableError('the kubernetes api could not review the token', status, { cause: new Error(reason) });
    }
  }

  return createCachingValidator({
    review: async (token) => validatedTokenFromStatus((await review(token)).status, audience),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
    ...(options.cacheMaxEntries !== undefined ? { cacheMaxEntries: options.cacheMaxEntries } : {}),
  });
}
