/**
 * The in-cluster client configuration, read the way client-go's `rest.InClusterConfig` reads it,
 * without @kubernetes/client-node: importing that library costs a node agent about 50 MB of
 * memory for two POSTs (docs/decisions.md, "The in-cluster configuration without the client
 * library"). The library still reads kubeconfig files (kubeconfig-files.ts).
 *
 * - the server: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`;
 * - the CA: `<service account dir>/ca.crt`;
 * - the credential: `<service account dir>/token`, a projected token the kubelet rotates. As
 *   client-go's cached file token source does, it is read again when a minute old, and at the
 *   next request after the API answered 401. The CA is read again with it.
 */
import { readFile as readFileAsync } from 'node:fs/promises';
import { posix } from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { AgentError } from '../errors.js';
import type { KubeClientConfig, KubeRequestTarget } from './kube-http.js';

/** Where a pod's service-account credentials are mounted (relative to the in-cluster root). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a read token (and CA) is used before the files are read again: client-go's period. */
export const IN_CLUSTER_REREAD_MS = 60_000;

/** Options of {@link loadInClusterConfig}. */
export interface InClusterOptions {
  /** Read for `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Prefix of {@link SERVICE_ACCOUNT_DIR}; default `''` (the real root). */
  readonly root?: string;
  /** Default the wall clock. */
  readonly clock?: Clock;
  /** Reads a file as UTF-8; default `fs.promises.readFile`. */
  readonly readFile?: (path: string) => Promise<string>;
}

interface Credentials {
  readonly token: string;
  readonly ca: string;
  readonly readAt: number;
}

/**
 * Reads the in-cluster configuration. The token and the CA are read once here, so that a pod
 * without them fails at start-up rather than at its first caller.
 * @throws AgentError `CONFIG_INVALID` when the environment or a file is missing or empty
 */
export async function loadInClusterConfig(options: InClusterOptions): Promise<KubeClientConfig> {
  const host = options.env.KUBERNETES_SERVICE_HOST;
  const port = options.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new AgentError(
      'CONFIG_INVALID',
      'no kubernetes client configuration: pass --kubeconfig, set KUBECONFIG, or run in a pod (KUBERNETES_SERVICE_HOST is unset)',
    );
  }
  const clock = options.clock ?? systemClock;
  const read = options.readFile ?? ((path: string) => readFileAsync(path, 'utf8'));
  const dir = posix.join(options.root || '/', SERVICE_ACCOUNT_DIR);
  const tokenPath = posix.join(dir, 'token');
  const caPath = posix.join(dir, 'ca.crt');

  async function readCredentials(): Promise<Credentials> {
    // One after the other, so that a pod with neither file is told about the token first.
    const token = await readNonEmpty(read, tokenPath);
    const ca = await readNonEmpty(read, caPath);
    return { token: token.trim(), ca, readAt: clock.now() };
  }

  let current = await readCredentials();
  // Callers arriving while the files are read again share that read.
  let rereading: Promise<Credentials> | undefined;
  let stale = false;

  async function fresh(): Promise<Credentials> {
    if (!stale && clock.now() - current.readAt < IN_CLUSTER_REREAD_MS) return current;
    rereading ??= readCredentials()
      .then(
        (read) => {
          current = read;
          stale = false;
          return read;
        },
        // As client-go does: a failed re-read keeps the last credentials; the next request tries again.
        () => current,
      )
      .finally(() => {
        rereading = undefined;
      });
    return rereading;
  }

  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    origin: 'the in-cluster service account',
    async target(): Promise<KubeRequestTarget> {
      const { token, ca } = await fresh();
      return { tls: { ca }, headers: { authorization: `Bearer ${token}` } };
    },
    unauthorized() {
      stale = true;
    },
  };
}

async function readNonEmpty(read: (path: string) => Promise<string>, path: string): Promise<string> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    throw new AgentError('CONFIG_INVALID', `in-cluster kubernetes configuration: cannot read ${path}`, { cause: err });
  }
  if (text.trim() === '') throw new AgentError('CONFIG_INVALID', `in-cluster kubernetes configuration: ${path} is empty`);
  return text;
}
