/**
 * The agent's own Kubernetes client: where its credentials come from, the two calls it makes
 * (TokenReview, SelfSubjectAccessReview) with a per-call abort signal, and the start-up check
 * that it may create tokenreviews (SPEC §4: Linkerd refuses to start otherwise).
 */
import { posix } from 'node:path';
import {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  type ConfigurationOptions,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type V1SelfSubjectAccessReview,
  type V1TokenReview,
} from '@kubernetes/client-node';
import { AgentError, describeError, fileErrorReason } from '../errors.js';

/** Where a pod's service-account credentials are mounted (relative to `inClusterRoot`). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Default bound on one call to the API, in milliseconds. */
export const DEFAULT_KUBE_TIMEOUT_MS = 5_000;

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
 * Builds the agent's KubeConfig from, in order (SPEC §9): `kubeconfigPath`; else the in-cluster
 * service account when `KUBERNETES_SERVICE_HOST`/`_PORT` are set (plus the mounted token and CA;
 * the token file is re-read by the client, so rotation is picked up); else `$KUBECONFIG` (a
 * `:`-separated list, merged as kubectl does, the first file's current context winning).
 * @throws AgentError `CONFIG_INVALID` naming the source when none is usable or a file is bad
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const env = source.env ?? process.env;
  const kc = new KubeConfig();
  let origin = 'an unknown source';
  try {
    if (source.kubeconfigPath) {
      origin = `--kubeconfig ${source.kubeconfigPath}`;
      kc.loadFromFile(source.kubeconfigPath);
    } else if ((env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) || !env.KUBECONFIG) {
      // SPEC §9: the in-cluster service account first (a DaemonSet pod), else $KUBECONFIG.
      origin = 'the in-cluster service account';
      loadInCluster(kc, env, source.inClusterRoot ?? '');
    } else {
      origin = `KUBECONFIG=${env.KUBECONFIG}`;
      const [first, ...rest] = env.KUBECONFIG.split(posix.delimiter).filter((f) => f !== '');
      kc.loadFromFile(first as string);
      for (const file of rest) {
        const other = new KubeConfig();
        other.loadFromFile(file);
        kc.mergeConfig(other, true);
      }
    }
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError('CONFIG_INVALID', `kubernetes client configuration from ${origin} is unusable: ${fileErrorReason(err)}`, {
      cause: err,
    });
  }
  if (!kc.getCurrentCluster()) {
    throw new AgentError('CONFIG_INVALID', `kubernetes client configuration from ${origin} has no current cluster`);
  }
  return kc;
}

/** `KubeConfig.loadFromCluster` reads `process.env` itself; this is the same, with the env injected. */
function loadInCluster(kc: KubeConfig, env: Readonly<Record<string, string | undefined>>, root: string): void {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new AgentError(
      'CONFIG_INVALID',
      'no kubernetes client configuration: pass --kubeconfig, set KUBECONFIG, or run in a pod (KUBERNETES_SERVICE_HOST is unset)',
    );
  }
  const dir = posix.join(root || '/', SERVICE_ACCOUNT_DIR);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  kc.loadFromClusterAndUser(
    { name: 'in-cluster', server, caFile: posix.join(dir, 'ca.crt'), skipTLSVerify: false },
    { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: posix.join(dir, 'token') } } },
  );
}

/** Per-call options of {@link KubeApi}. */
export interface KubeCallOptions {
  /** Aborts the HTTP request (a timeout or the caller going away). */
  readonly signal?: AbortSignal;
}

/** The two API calls the agent makes. Errors are the client library's (`ApiException`, fetch errors). */
export interface KubeApi {
  createTokenReview(review: V1TokenReview, options?: KubeCallOptions): Promise<V1TokenReview>;
  createSelfSubjectAccessReview(review: V1SelfSubjectAccessReview, options?: KubeCallOptions): Promise<V1SelfSubjectAccessReview>;
}

/** Per-call client options that attach `signal` to the request (the library has no timeout of its own). */
function withSignal(signal: AbortSignal | undefined): ConfigurationOptions | undefined {
  if (!signal) return undefined;
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** Creates the {@link KubeApi} over a loaded KubeConfig. */
export function createKubeApi(kc: KubeConfig): KubeApi {
  const authentication = kc.makeApiClient(AuthenticationV1Api);
  const authorization = kc.makeApiClient(AuthorizationV1Api);
  return {
    createTokenReview: (body, options) => authentication.createTokenReview({ body }, withSignal(options?.signal)),
    createSelfSubjectAccessReview: (body, options) => authorization.createSelfSubjectAccessReview({ body }, withSignal(options?.signal)),
  };
}

/** The HTTP status of a failed API call, when the API answered. */
export function httpStatusOf(err: unknown): number | undefined {
  return err instanceof ApiException && typeof err.code === 'number' ? err.code : undefined;
}

/**
 * A one-line description of a failed API call that is safe to log. An `ApiException`'s own
 * message embeds the whole response body, and a TokenReview body echoes the token; only the
 * HTTP status and a `Status` object's `reason`/`message` are kept.
 */
export function describeKubeFailure(err: unknown): string {
  const status = httpStatusOf(err);
  if (status === undefined) {
    if (err instanceof Error && err.name === 'AbortError') return 'request aborted (timeout or caller gone)';
    return describeError(err);
  }
  const body = (err as ApiException<unknown>).body;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
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
      { signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS) },
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
