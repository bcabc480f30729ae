/**
 * The agent's own Kubernetes client: where its configuration comes from, the two calls it makes
 * (TokenReview, SelfSubjectAccessReview) over one pool of kept-alive connections (kube-http.ts),
 * each with its own time limit, and the start-up check that it may create tokenreviews (docs/linkerd-identity.md:
 * Linkerd refuses to start otherwise).
 */
import { posix } from 'node:path';
import type { V1SelfSubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { AgentError, describeError } from '../errors.js';
import { loadInClusterConfig, SERVICE_ACCOUNT_DIR } from './in-cluster-config.js';
import { createKubeHttp, type KubeClientConfig, KubeHttpError, type KubeHttpOptions, KubeTimeoutError } from './kube-http.js';

export type { KubeClientConfig } from './kube-http.js';
export { SERVICE_ACCOUNT_DIR };

/** Default bound on one call to the API, in milliseconds. */
export const DEFAULT_KUBE_TIMEOUT_MS = 5_000;

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

/** The Kubernetes API could not give an answer (network, timeout, 5xx, 429, or a refusal of the agent's own request). */
export class KubeApiUnavailableError extends AgentError {
  /** The HTTP status when the API answered, else `undefined` (network error, timeout). */
  readonly httpStatus: number | undefined;

  constructor(message: string, httpStatus: number | undefined, options?: { cause?: unknown }) {
    super('TOKEN_REVIEW_FAILED', message, options);
    this.httpStatus = httpStatus;
  }
}

/** Options of {@link loadKubeConfig}. */
export interface KubeConfigSource {
  /** `--kubeconfig`: used when set. */
  readonly kubeconfigPath?: string | undefined;
  /** The environment (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`/`_PORT`); default `process.env`, read at call time. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of {@link SERVICE_ACCOUNT_DIR} for the in-cluster config; default `''` (the real root). */
  readonly inClusterRoot?: string;
}

/**
 * Loads the agent's client configuration from, in order (docs/configuration.md): `kubeconfigPath`; else the
 * in-cluster service account when `KUBERNETES_SERVICE_HOST`/`_PORT` are set (read by
 * in-cluster-config.ts, the token re-read as it rotates); else `$KUBECONFIG` (a `:`-separated
 * list, merged as kubectl does, the first file's current context winning). Kubeconfig files are
 * read by @kubernetes/client-node, imported only then.
 * @throws AgentError `CONFIG_INVALID` naming the source when none is usable or a file is bad
 */
export async function loadKubeConfig(source: KubeConfigSource = {}): Promise<KubeClientConfig> {
  const env = source.env ?? process.env;
  if (source.kubeconfigPath) return loadFiles([source.kubeconfigPath], `--kubeconfig ${source.kubeconfigPath}`);
  // docs/configuration.md: the in-cluster service account first (a DaemonSet pod), else $KUBECONFIG.
  if ((env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) || !env.KUBECONFIG) {
    return loadInClusterConfig({ env, root: source.inClusterRoot ?? '' });
  }
  return loadFiles(
    env.KUBECONFIG.split(posix.delimiter).filter((f) => f !== ''),
    `KUBECONFIG=${env.KUBECONFIG}`,
  );
}

async function loadFiles(files: readonly string[], origin: string): Promise<KubeClientConfig> {
  const { loadKubeconfigFiles } = await import('./kubeconfig-files.js');
  return loadKubeconfigFiles(files, origin);
}

/** Per-call options of {@link KubeApi}. */
export interface KubeCallOptions {
  /** Gives the call up after this long, in ms (closing its connection); default no limit. */
  readonly timeoutMs?: number;
}

/** The two API calls the agent makes. Errors are {@link KubeHttpError}, network errors and {@link KubeTimeoutError}s. */
export interface KubeApi {
  createTokenReview(review: V1TokenReview, options?: KubeCallOptions): Promise<V1TokenReview>;
  createSelfSubjectAccessReview(review: V1SelfSubjectAccessReview, options?: KubeCallOptions): Promise<V1SelfSubjectAccessReview>;
  /** Closes the pooled connections. */
  close(): void;
}

/**
 * Creates the {@link KubeApi} over a loaded configuration: every call shares one pool of
 * kept-alive connections (`options.maxSockets`, default 4).
 */
export function createKubeApi(config: KubeClientConfig, options: KubeHttpOptions = {}): KubeApi {
  const http = createKubeHttp(config, options);
  return {
    createTokenReview: async (body, call) => (await http.postJson(TOKEN_REVIEWS, body, call)) as V1TokenReview,
    createSelfSubjectAccessReview: async (body, call) => (await http.postJson(ACCESS_REVIEWS, body, call)) as V1SelfSubjectAccessReview,
    close: () => http.close(),
  };
}

/** The HTTP status of a failed API call, when the API answered. */
export function httpStatusOf(err: unknown): number | undefined {
  return err instanceof KubeHttpError ? err.status : undefined;
}

/**
 * A one-line description of a failed API call that is safe to log. A response body may echo the
 * request, and a TokenReview request holds the token; only the HTTP status and a `Status`
 * object's `reason`/`message` are kept.
 */
export function describeKubeFailure(err: unknown): string {
  const status = httpStatusOf(err);
  if (status === undefined) {
    if (err instanceof KubeTimeoutError) return err.message;
    return describeError(err);
  }
  try {
    const parsed: unknown = JSON.parse((err as KubeHttpError).body);
    if (typeof parsed === 'object' && parsed !== null && (parsed as { kind?: unknown }).kind === 'Status') {
      const { reason, message } = parsed as { reason?: unknown; message?: unknown };
      return `HTTP ${status} ${String(reason ?? '')}: ${String(message ?? '')}`;
    }
  } catch {
    // Not JSON: fall through to the bare status.
  }
  return `HTTP ${status}`;
}

/**
 * Asks the API (SelfSubjectAccessReview) whether the agent (or the central issuer: `who`) may
 * `create` `tokenreviews` in group `authentication.k8s.io`. Call at start-up, before serving.
 * @throws AgentError `CONFIG_INVALID` when it may not, or the API rejects the agent's own
 *   credentials (401/403), with a message fit for the operator;
 *   {@link KubeApiUnavailableError} when the API cannot be reached or fails
 */
export async function checkTokenReviewAccess(
  api: Pick<KubeApi, 'createSelfSubjectAccessReview'>,
  options: { timeoutMs?: number; who?: 'agent' | 'issuer' } = {},
): Promise<void> {
  const who = options.who ?? 'agent';
  let review: V1SelfSubjectAccessReview;
  try {
    review = await api.createSelfSubjectAccessReview(
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' } },
      },
      { timeoutMs: options.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS },
    );
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 401 || status === 403) {
      throw new AgentError('CONFIG_INVALID', `the kubernetes api rejected the ${who}'s credentials (${describeKubeFailure(err)})`);
    }
    throw new KubeApiUnavailableError(
      `the kubernetes api could not be asked whether the ${who} may create tokenreviews (${describeKubeFailure(err)})`,
      status,
    );
  }
  const status = review.status;
  if (status?.allowed === true && status.denied !== true) return;
  const reason =
    status?.reason || status?.evaluationError || `denied; bind the ClusterRole system:auth-delegator to the ${who}'s service account`;
  throw new AgentError('CONFIG_INVALID', `the ${who} may not create tokenreviews: ${reason}`);
}
