/**
 * Whether the central issuer answers, as the agent's calls find out: one warn line when it stops
 * answering, one info line when it answers again — not one per failed call — and a value for the
 * `svid_agent_issuer_reachable` gauge. `/ready` does not read it: a node whose issuer is away
 * keeps serving the identities it holds, and a rollout must not stall on it.
 */
import { describeError } from '../errors.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { createValueChannel, type Receiver } from '../value-channel.js';

/** Constant log messages of a change. */
export const REACHABILITY_MESSAGES = {
  unreachable: 'central issuer unreachable; serving the identities held, new ones fail until it is back',
  reachable: 'central issuer reachable',
} as const;

export interface IssuerReachability {
  /** A call reached the issuer (`true`) or did not (`false`, with why). */
  report(reachable: boolean, cause?: unknown): void;
  /** The last report; `false` until the issuer first answered. */
  readonly reachable: Receiver<boolean>;
}

export function createIssuerReachability(logger: Logger): IssuerReachability {
  const log = logger.child({ [LOG_FIELD.subsystem]: 'central_issuer' });
  const channel = createValueChannel(false);
  let known: boolean | undefined;
  return {
    report(reachable, cause) {
      if (known === reachable) return;
      known = reachable;
      channel.sink.set(reachable);
      if (reachable) log.info(REACHABILITY_MESSAGES.reachable);
      else log.warn(cause === undefined ? {} : { [LOG_FIELD.error]: describeError(cause) }, REACHABILITY_MESSAGES.unreachable);
    },
    reachable: channel.receiver,
  };
}
