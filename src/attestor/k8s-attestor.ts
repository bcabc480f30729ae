/**
 * The Kubernetes workload attestor (docs/kubernetes.md): caller PID → cgroup → pod UID; the pod's
 * service-account token (presented, else read from its projected volume) → TokenReview → account;
 * and the binding that makes the token count: its pod UID must be the caller's pod UID and its
 * node, when it names one, must be this node. A token alone proves nothing about who holds it.
 *
 * The PID-reuse check (start time re-read after attestation) is the peer tracker's, around this call.
 *
 * The slow steps (the token file, its TokenReview) start at accept, in `prepare`, while the
 * client is still sending its call; the call's `attest` then takes the read and the review, done or
 * in flight, and decides everything else itself (docs/decisions.md, "Attestation starts at accept").
 */
import { stopWaitingOnAbort } from '../abort.js';
import { createBoundedCache } from '../bounded-cache.js';
import { type Clock, systemClock } from '../clock.js';
import { AgentError, describeError, isAgentError } from '../errors.js';
import { SERVICE_ACCOUNT_TYPE } from '../identity.js';
import { LOG_FIELD, type Logger } from '../log.js';
import type { TokenValidator, ValidatedToken } from '../token-validator.js';
import { parseCgroupFile } from './cgroup.js';
import { createProcReader, ProcessGoneError, type ProcReader } from './proc.js';
import { assertTokenPaths, DEFAULT_TOKEN_PATHS, type FoundToken, findCallerToken } from './token-source.js';
import type { Attestation, AttestationObserver, AttestRequest, Caller, WorkloadAttestor } from './types.js';

/** The attestor's name, as in `--attestor k8s` and `Attestation.attestor`. */
export const K8S_ATTESTOR_NAME = 'k8s';

/** `reason` field of the "caller refused" log entry (error code `NO_IDENTITY`). */
export const REFUSAL_REASONS = {
  processGone: 'process_gone',
  cgroupConflict: 'cgroup_conflict',
  notInPod: 'not_in_pod',
  noToken: 'no_token',
  tokenFileRejected: 'token_file_rejected',
  tokenNotAuthenticated: 'token_not_authenticated',
  tokenInvalid: 'token_invalid',
  notServiceAccount: 'not_service_account',
  tokenNotBoundToPod: 'token_not_bound_to_pod',
  podMismatch: 'pod_mismatch',
  nodeMismatch: 'node_mismatch',
} as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[keyof typeof REFUSAL_REASONS];

/** `reason` field of the "attestation unavailable" log entry (error code `ATTESTATION_UNAVAILABLE`). */
export const UNAVAILABLE_REASONS = {
  procUnreadable: 'proc_unreadable',
  apiUnavailable: 'api_unavailable',
  unexpected: 'unexpected_error',
} as const;
export type UnavailableReason = (typeof UNAVAILABLE_REASONS)[keyof typeof UNAVAILABLE_REASONS];

/** Constant log messages, so refusals can be counted and queried. */
export const LOG_MESSAGES = {
  refused: 'caller refused',
  unavailable: 'attestation unavailable',
  attested: 'caller attested',
  attesting: 'attesting caller',
  cancelled: 'attestation cancelled: the caller went away',
} as const;

/** `reason` of a cancelled attestation's outcome. */
export const CANCELLED_REASON = 'caller_gone';

/** Log fields of this attestor beyond the shared ones in `LOG_FIELD`. */
const FIELD = {
  tokenSource: 'token_source',
  namespace: 'namespace',
  serviceAccount: 'service_account',
  tokenPodUid: 'token_pod_uid',
  tokenNode: 'token_node',
} as const;

/** Options of {@link createK8sAttestor}. */
export interface K8sAttestorOptions {
  /** Validates tokens (the TokenReview validator in production). */
  readonly validator: TokenValidator;
  readonly logger: Logger;
  /** `--proc-root`; default `/proc`. Ignored when `proc` is given. */
  readonly procRoot?: string;
  /** Readers of `/proc`; default `createProcReader({ procRoot })`. */
  readonly proc?: ProcReader;
  /** `--token-path` list, tried in order; default {@link DEFAULT_TOKEN_PATHS}. */
  readonly tokenPaths?: readonly string[];
  /** `--node-name`: tokens naming another node are refused. When unset, node binding is not checked. */
  readonly nodeName?: string | undefined;
  /** Told the outcome of every attestation, with the same `reason` as the log (metrics). */
  readonly onOutcome?: AttestationObserver;
  /** Default the wall clock; ages the token files read by `prepare`. */
  readonly clock?: Clock;
}

/**
 * How long a token file read by `prepare` at accept stands for the file, and its review for a
 * review of it: a call arriving within this takes both instead of reading and reviewing again. The
 * kubelet replaces a projected token long before it expires (at 80 % of its lifetime), so a read
 * this old names a token as valid as the file's; a refusal this old is as current as a new one
 * would be (refusals are otherwise never reused: the caller retries and is reviewed afresh).
 */
export const PREPARED_TOKEN_TTL_MS = 1_000;
/** Most prepared reads kept (one per accepted connection, taken by its first call). */
const PREPARED_TOKENS_KEPT = 1_024;

/** A token file read at accept, for the caller's pod, and the review started then. */
interface PreparedToken {
  readonly found: FoundToken | undefined;
  readonly podUid: string;
  /** The review of `found`, started as soon as it was read; it never rejects unhandled. */
  readonly review: Promise<ValidatedToken> | undefined;
}

/** A refusal or an unavailability, with its log reason; turned into an AgentError once. */
interface Outcome {
  readonly code: 'NO_IDENTITY' | 'ATTESTATION_UNAVAILABLE';
  readonly reason: RefusalReason | UnavailableReason;
  readonly message: string;
  readonly cause?: unknown;
}

/** Thrown inside `decide` and caught in `attest`, never outside this module. */
class OutcomeSignal extends Error {
  readonly outcome: Outcome;

  constructor(outcome: Outcome) {
    super(outcome.message);
    this.outcome = outcome;
  }
}

const refuse = (reason: RefusalReason, message: string, cause?: unknown): OutcomeSignal =>
  new OutcomeSignal({ code: 'NO_IDENTITY', reason, message, cause });
const unavailable = (reason: UnavailableReason, message: string, cause?: unknown): OutcomeSignal =>
  new OutcomeSignal({ code: 'ATTESTATION_UNAVAILABLE', reason, message, cause });

/** Classifies errors from the /proc readers. */
function procOutcome(err: unknown, refusalReason: RefusalReason): OutcomeSignal {
  if (err instanceof ProcessGoneError) return refuse(REFUSAL_REASONS.processGone, 'caller process is gone', err);
  if (isAgentError(err, 'NO_IDENTITY')) return refuse(refusalReason, err.message, err);
  return unavailable(UNAVAILABLE_REASONS.procUnreadable, 'could not read the caller from /proc', err);
}

/** Classifies errors from the token validator (docs/kubernetes.md; ATTESTATION_UNAVAILABLE is retried by clients). */
function validationOutcome(err: unknown): OutcomeSignal {
  if (isAgentError(err, 'TOKEN_NOT_AUTHENTICATED')) return refuse(REFUSAL_REASONS.tokenNotAuthenticated, 'token is not authenticated', err);
  if (isAgentError(err, 'TOKEN_INVALID')) return refuse(REFUSAL_REASONS.tokenInvalid, 'token is invalid', err);
  if (isAgentError(err, 'TOKEN_REVIEW_FAILED')) return unavailable(UNAVAILABLE_REASONS.apiUnavailable, 'token could not be reviewed', err);
  return unavailable(UNAVAILABLE_REASONS.unexpected, 'token validation failed unexpectedly', err);
}

/** Why a validated token does not bind to a caller. */
export interface BindingRefusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

/**
 * The binding rules of docs/kubernetes.md, in order: a service-account token, bound to a pod, that pod the
 * caller's, and (when both are known) the token's node this node. Pure.
 * @returns `undefined` when the token binds to the caller, else why not
 */
export function checkTokenBinding(token: ValidatedToken, callerPodUid: string, nodeName: string | undefined): BindingRefusal | undefined {
  if (token.account.type !== SERVICE_ACCOUNT_TYPE) {
    return { reason: REFUSAL_REASONS.notServiceAccount, message: 'token is not a service-account token' };
  }
  if (token.podUid === undefined) {
    return { reason: REFUSAL_REASONS.tokenNotBoundToPod, message: 'token is not bound to a pod' };
  }
  if (token.podUid.toLowerCase() !== callerPodUid.toLowerCase()) {
    return { reason: REFUSAL_REASONS.podMismatch, message: "token belongs to another pod than the caller's" };
  }
  if (token.nodeName !== undefined && nodeName !== undefined && token.nodeName !== nodeName) {
    return { reason: REFUSAL_REASONS.nodeMismatch, message: 'token is bound to another node' };
  }
  return undefined;
}

/**
 * Creates the `k8s` attestor.
 * `attest` resolves to `{ account, attestor: 'k8s', podUid }` or throws AgentError `NO_IDENTITY`
 * (not in a pod, no token, token refused or bound elsewhere, process gone) or
 * `ATTESTATION_UNAVAILABLE` (/proc unreadable, API server unreachable), keeping the cause. Each
 * outcome is logged once with a constant message and a `reason` field; the token never is.
 * @throws TypeError for a bad token path or an empty node name
 */
export function createK8sAttestor(options: K8sAttestorOptions): WorkloadAttestor {
  const tokenPaths = options.tokenPaths ?? DEFAULT_TOKEN_PATHS;
  assertTokenPaths(tokenPaths);
  if (options.nodeName === '') throw new TypeError('node name must not be empty when set');
  const proc = options.proc ?? createProcReader(options.procRoot !== undefined ? { procRoot: options.procRoot } : {});
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'k8s-attestor' });
  // Token files read at accept, by pid and process start time: a call takes only the read of
  // its own process (the start time its connection was accepted with).
  const prepared = createBoundedCache<Promise<PreparedToken>>({
    maxEntries: PREPARED_TOKENS_KEPT,
    clock: options.clock ?? systemClock,
  });
  if (options.nodeName === undefined) log.warn('node name not configured; the node a token is bound to is not checked');

  async function decide(request: AttestRequest, fields: Record<string, unknown>): Promise<Attestation> {
    const pid = request.caller.peer.pid;
    let cgroupText: string;
    try {
      cgroupText = await proc.readCgroup(pid);
    } catch (err) {
      throw procOutcome(err, REFUSAL_REASONS.notInPod);
    }
    let placed: ReturnType<typeof parseCgroupFile>;
    try {
      placed = parseCgroupFile(cgroupText);
    } catch (err) {
      throw refuse(REFUSAL_REASONS.cgroupConflict, 'caller cgroups cannot be placed in one pod', err);
    }
    // docs/kubernetes.md binds the token to the caller's pod, so a caller outside a pod has nothing to bind to.
    if (placed.containerId === undefined || placed.podUid === undefined) {
      throw refuse(REFUSAL_REASONS.notInPod, 'caller is not in a pod');
    }
    const podUid = placed.podUid;
    fields[LOG_FIELD.podUid] = podUid;
    let found: FoundToken | undefined;
    let review: Promise<ValidatedToken> | undefined;
    try {
      const preparing = takePrepared(request.caller, request.bearerToken);
      if (preparing) {
        const ready = await preparing;
        found = ready.found;
        if (ready.podUid === podUid) review = ready.review;
      } else {
        found = await findCallerToken({ pid, bearerToken: request.bearerToken, tokenPaths, reader: proc });
      }
    } catch (err) {
      throw procOutcome(err, REFUSAL_REASONS.tokenFileRejected);
    }
    if (!found) throw refuse(REFUSAL_REASONS.noToken, 'caller has no service-account token');
    fields[FIELD.tokenSource] = found.source;
    const token = found.token;
    // The token's refusal at accept stands; a review that could not be made then is made again.
    const reviewed = review?.catch((err: unknown) => {
      if (isAgentError(err, 'TOKEN_INVALID') || isAgentError(err, 'TOKEN_NOT_AUTHENTICATED')) throw err;
      return options.validator.validate(token, { podUid });
    });
    let validated: ValidatedToken;
    try {
      validated = await (reviewed
        ? stopWaitingOnAbort(reviewed, request.signal)
        : options.validator.validate(token, { signal: request.signal, podUid }));
    } catch (err) {
      // The caller went away: not the token's fault nor the API's. The review itself goes on.
      if (isAgentError(err, 'CANCELLED')) throw err;
      throw validationOutcome(err);
    }
    // Not secrets, and what an operator needs to see why a token did not bind.
    Object.assign(fields, {
      [FIELD.namespace]: validated.account.namespace,
      [FIELD.serviceAccount]: validated.account.name,
      [FIELD.tokenPodUid]: validated.podUid,
      [FIELD.tokenNode]: validated.nodeName,
    });
    const unbound = checkTokenBinding(validated, podUid, options.nodeName);
    if (unbound) throw refuse(unbound.reason, unbound.message);
    return {
      account: validated.account,
      attestor: K8S_ATTESTOR_NAME,
      podUid,
      token,
      tokenSource: found.source,
      caller: request.caller,
    };
  }

  /**
   * The slow part of {@link decide}, started at accept: cgroup → pod UID, the token file, and
   * its review through the validator. The call's own `decide` takes both (same process, same pod):
   * it meets the outcome it would have met reading and reviewing itself, and the token is reviewed
   * once. A caller that presents a bearer token on its call has its file token reviewed for
   * nothing; errors are `decide`'s to report.
   */
  async function prepare({ peer: { pid }, startTime }: Caller): Promise<void> {
    const podUid = parseCgroupFile(await proc.readCgroup(pid)).podUid;
    // Nothing in the caller's root is opened before its cgroup places it in a pod: a process of
    // the host can mount a filesystem that never answers there, and each read holds a thread of
    // the pool every attestation shares.
    if (podUid === undefined) return;
    const preparing = findCallerToken({ pid, bearerToken: undefined, tokenPaths, reader: proc }).then((found) => {
      const review = found ? options.validator.validate(found.token, { podUid }) : undefined;
      review?.catch(() => undefined);
      return { found, podUid, review };
    });
    // Kept whether it succeeds or not: the call meets the same outcome as if it had read.
    preparing.catch(() => undefined);
    prepared.set(`${pid}:${startTime}`, preparing, PREPARED_TOKEN_TTL_MS);
    await (await preparing).review;
  }

  /**
   * The token file `prepare` read lately for the caller's process (pid and start time), with its
   * review, once; none when the caller presented a token.
   */
  function takePrepared(caller: Caller, bearerToken: string | undefined): Promise<PreparedToken> | undefined {
    const key = `${caller.peer.pid}:${caller.startTime}`;
    const reading = prepared.get(key);
    if (reading === undefined) return undefined;
    prepared.delete(key);
    return bearerToken?.trim() ? undefined : reading;
  }

  return {
    name: K8S_ATTESTOR_NAME,
    prepare: (caller) => prepare(caller).catch(() => undefined),
    async attest(request) {
      const fields: Record<string, unknown> = {
        [LOG_FIELD.pid]: request.caller.peer.pid,
        [LOG_FIELD.connection]: request.caller.connectionId,
      };
      log.debug(fields, LOG_MESSAGES.attesting);
      try {
        const attestation = await decide(request, fields);
        log.debug(fields, LOG_MESSAGES.attested);
        options.onOutcome?.({ attestor: K8S_ATTESTOR_NAME, result: 'attested', reason: 'none' });
        return attestation;
      } catch (err) {
        if (isAgentError(err, 'CANCELLED')) {
          log.debug(fields, LOG_MESSAGES.cancelled);
          options.onOutcome?.({ attestor: K8S_ATTESTOR_NAME, result: 'cancelled', reason: CANCELLED_REASON });
          throw err;
        }
        const { outcome } =
          err instanceof OutcomeSignal ? err : unavailable(UNAVAILABLE_REASONS.unexpected, 'attestation failed unexpectedly', err);
        const entry = {
          ...fields,
          [LOG_FIELD.reason]: outcome.reason,
          ...(outcome.cause !== undefined ? { [LOG_FIELD.error]: describeError(outcome.cause) } : {}),
        };
        if (outcome.code === 'NO_IDENTITY') log.info(entry, LOG_MESSAGES.refused);
        else log.warn(entry, LOG_MESSAGES.unavailable);
        const result = outcome.code === 'NO_IDENTITY' ? 'refused' : 'unavailable';
        options.onOutcome?.({ attestor: K8S_ATTESTOR_NAME, result, reason: outcome.reason });
        throw new AgentError(outcome.code, outcome.message, outcome.cause !== undefined ? { cause: outcome.cause } : undefined);
      }
    },
  };
}
