/**
 * The two reviews every node-service call starts with: the calling agent's own token (which node
 * asks), then, where the call is about a workload, the workload's token (which account, bound to
 * a pod on that node). Both go through TokenReview validators with their own audiences and caches.
 */
import { isAgentError } from '../errors.js';
import { type NamingConfig, type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import type { TokenValidator, ValidatedToken } from '../token-validator.js';
import { invalidRequest, NODE_REASONS, NodeServiceError, notPermitted } from './node-errors.js';
import { type AgentAccount, agentNodeOf, bearerToken, checkWorkloadBinding, isApiUnreachable } from './node-rules.js';
import type { NodeRateLimit } from './rate-limit.js';

/** What a handler knows of its call. */
export interface NodeCall {
  /** The `authorization` metadata values. */
  readonly authorization: readonly unknown[];
  readonly signal?: AbortSignal | undefined;
  /** Log fields the service fills in as it learns them (`node`, `spiffe_id`, ...). */
  readonly fields: Record<string, unknown>;
}

/** The calling agent: its node, or `undefined` when the API server could not be asked. */
export interface CallingAgent {
  readonly node: string | undefined;
}

/** `WorkloadEvidence` as the service reads it. */
export interface WorkloadEvidence {
  readonly token: string;
  readonly podUid: string;
}

/** A workload whose token binds to the calling agent's node. */
export interface ReviewedWorkload {
  readonly token: ValidatedToken;
  readonly identity: WorkloadIdentity;
}

/** Options of {@link createNodeAuth}. */
export interface NodeAuthOptions {
  /** Reviews agent tokens with `--agent-audience`. */
  readonly agentTokens: TokenValidator;
  /** Reviews workload tokens with `--token-audience`. */
  readonly workloadTokens: TokenValidator;
  readonly agentAccount: AgentAccount;
  readonly naming: NamingConfig;
  readonly rateLimit: NodeRateLimit;
}

/** The reviews of one issuer. */
export interface NodeAuth {
  /**
   * Reviews the agent's token and takes one request from its node's rate.
   * @param allowUnreachable when the API server is unreachable, resolve with no node instead of
   *   failing (renewals on a ticket; the bundle stream)
   * @throws NodeServiceError `AGENT_NOT_AUTHENTICATED`, `NOT_PERMITTED`, `RATE_LIMITED`;
   *   AgentError `TOKEN_REVIEW_FAILED` (UNAVAILABLE), `CANCELLED`
   */
  agent(call: NodeCall, options: { readonly allowUnreachable: boolean }): Promise<CallingAgent>;
  /**
   * Reviews a workload's token and binds it to the agent's node and the pod the agent named.
   * @throws NodeServiceError `INVALID_REQUEST` (no evidence), `NOT_PERMITTED`; AgentError
   *   `TOKEN_REVIEW_FAILED`, `CANCELLED`
   */
  workload(call: NodeCall, evidence: WorkloadEvidence | undefined, agentNode: string): Promise<ReviewedWorkload>;
}

const notAuthenticated = (err: unknown): boolean => isAgentError(err, 'TOKEN_NOT_AUTHENTICATED', 'TOKEN_INVALID');

/**
 * A valid token for another audience: the API server says so in the review's error ("token
 * audiences [...] is invalid for the target audiences [...]"), the text Linkerd's validator also
 * keys on (linkerd2 `controller/identity/validator.go`, `Validate`).
 */
const wrongAudience = (err: unknown): boolean =>
  isAgentError(err, 'TOKEN_INVALID') && /token audiences .* is invalid for the target audiences/.test(String((err as Error).cause));

/** Creates the reviews. */
export function createNodeAuth(options: NodeAuthOptions): NodeAuth {
  return {
    async agent(call, { allowUnreachable }) {
      const token = bearerToken(call.authorization);
      let validated: ValidatedToken;
      try {
        validated = await options.agentTokens.validate(token, { signal: call.signal });
      } catch (err) {
        if (wrongAudience(err)) {
          throw notPermitted(NODE_REASONS.agentWrongAudience, 'the agent token is not for the agent audience', err);
        }
        if (notAuthenticated(err)) {
          throw new NodeServiceError(
            'AGENT_NOT_AUTHENTICATED',
            NODE_REASONS.agentTokenNotAuthenticated,
            'the agent token is not authenticated for the agent audience',
            { cause: err },
          );
        }
        if (allowUnreachable && isApiUnreachable(err)) return { node: undefined };
        throw err;
      }
      const node = agentNodeOf(validated, options.agentAccount);
      call.fields.node = node;
      if (!options.rateLimit.take(node)) {
        throw new NodeServiceError('RATE_LIMITED', NODE_REASONS.rateLimited, `node ${node} is over its request rate; retry with backoff`);
      }
      return { node };
    },

    async workload(call, evidence, agentNode) {
      if (!evidence?.token || !evidence.podUid) throw invalidRequest('workload evidence needs a token and a pod uid');
      call.fields.pod_uid = evidence.podUid;
      let validated: ValidatedToken;
      try {
        validated = await options.workloadTokens.validate(evidence.token, { signal: call.signal });
      } catch (err) {
        if (notAuthenticated(err))
          throw notPermitted(NODE_REASONS.workloadTokenNotAuthenticated, 'the workload token is not authenticated', err);
        throw err;
      }
      checkWorkloadBinding(validated, evidence.podUid, agentNode);
      const identity = workloadIdentityFor(validated.account, options.naming);
      call.fields.spiffe_id = identity.spiffeId;
      return { token: validated, identity };
    },
  };
}
