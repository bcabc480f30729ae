/**
 * Whether the issuer may create TokenReviews, asked with a SelfSubjectAccessReview at start (a
 * denial refuses the start, as Linkerd's identity controller does) and again every minute, so
 * `/ready` follows an RBAC change. An API that cannot be asked changes nothing: the last answer
 * stands (none yet at a start during an API outage: not ready, but serving renewals on tickets).
 */
import { describeError, isAgentError } from '../errors.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { createValueChannel, type Receiver } from '../value-channel.js';

/** The last answer: `unknown` until the API could be asked. */
export type TokenReviewAccess = 'allowed' | 'denied' | 'unknown';

/** How often the answer is asked again, ms. */
export const ACCESS_RECHECK_MS = 60_000;

/** Options of {@link watchTokenReviewAccess}. */
export interface TokenReviewAccessOptions {
  /**
   * Asks the API; resolves when allowed, rejects with AgentError `CONFIG_INVALID` when denied (or
   * the issuer's credentials are refused), anything else when the API could not be asked.
   */
  readonly check: () => Promise<void>;
  readonly logger: Logger;
  /** Default {@link ACCESS_RECHECK_MS}. */
  readonly recheckMs?: number;
}

/** The answer over time. */
export interface TokenReviewAccessWatch {
  readonly access: Receiver<TokenReviewAccess>;
  /** Asks again now (the timer does it every `recheckMs`). */
  recheck(): Promise<void>;
  close(): void;
}

/**
 * Asks once and starts asking every `recheckMs`.
 * @throws AgentError `CONFIG_INVALID` when the first answer is a denial: the issuer must not start
 */
export async function watchTokenReviewAccess(options: TokenReviewAccessOptions): Promise<TokenReviewAccessWatch> {
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'tokenreview_access' });
  const channel = createValueChannel<TokenReviewAccess>('unknown');

  /** @returns the denial, if that was the answer */
  async function ask(): Promise<unknown> {
    try {
      await options.check();
      if (channel.receiver.get() !== 'allowed') log.info('the issuer may create tokenreviews');
      channel.sink.set('allowed');
    } catch (err) {
      if (isAgentError(err, 'CONFIG_INVALID')) return err;
      log.warn({ [LOG_FIELD.error]: describeError(err) }, 'cannot ask whether the issuer may create tokenreviews; keeping the last answer');
    }
    return undefined;
  }

  // At start a denial is the start's failure, told once by the command (not also logged).
  const denied = await ask();
  if (denied !== undefined) throw denied;
  const recheck = async () => {
    const denial = await ask();
    if (denial === undefined) return;
    if (channel.receiver.get() !== 'denied')
      log.error({ [LOG_FIELD.error]: describeError(denial) }, 'the issuer may no longer create tokenreviews');
    channel.sink.set('denied');
  };
  const timer = setInterval(recheck, options.recheckMs ?? ACCESS_RECHECK_MS);
  timer.unref();
  return { access: channel.receiver, recheck, close: () => clearInterval(timer) };
}
