/**
 * Kubeconfig files (`--kubeconfig`, `$KUBECONFIG`), read by @kubernetes/client-node, which knows
 * their every form: client certificates, tokens, token files, exec and OIDC plugins. Reached only
 * through `import()` (kube-client.ts): the library costs about 50 MB of memory, which the
 * in-cluster agent does not pay. The library supplies the configuration and, per request, the
 * credentials; the requests themselves go over the agent's kept-alive pool (kube-http.ts).
 */
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { AgentError, fileErrorReason } from '../errors.js';
import type { KubeClientConfig, KubeRequestTarget } from './kube-http.js';

/**
 * Loads kubeconfig files, merged as kubectl merges a `KUBECONFIG` list: the first file's current
 * context wins.
 * @param files one or more paths
 * @param origin how messages name the source (`--kubeconfig FILE`, `KUBECONFIG=...`)
 * @throws AgentError `CONFIG_INVALID` when a file is unreadable or invalid, has no current
 *   cluster, or asks for a proxy (not supported: the agent talks to the API server directly)
 */
export function loadKubeconfigFiles(files: readonly string[], origin: string): KubeClientConfig {
  const kc = new KubeConfig();
  try {
    const [first, ...rest] = files;
    kc.loadFromFile(first as string);
    for (const file of rest) {
      const other = new KubeConfig();
      other.loadFromFile(file);
      kc.mergeConfig(other, true);
    }
  } catch (err) {
    throw new AgentError('CONFIG_INVALID', `kubernetes client configuration from ${origin} is unusable: ${fileErrorReason(err)}`, {
      cause: err,
    });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new AgentError('CONFIG_INVALID', `kubernetes client configuration from ${origin} has no current cluster`);
  if (cluster.proxyUrl) {
    throw new AgentError('CONFIG_INVALID', `kubernetes client configuration from ${origin}: proxy-url is not supported (remove it)`);
  }
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new AgentError(
      'CONFIG_INVALID',
      `kubernetes client configuration from ${origin}: an http: server needs insecure-skip-tls-verify`,
    );
  }
  return {
    server: cluster.server,
    origin,
    async target(): Promise<KubeRequestTarget> {
      const options: RequestOptions = {};
      // Also sets options.agent to a new https.Agent of its own, which is not used.
      await kc.applyToHTTPSOptions(options);
      return {
        tls: {
          ca: options.ca as string | Buffer | undefined,
          cert: options.cert as string | Buffer | undefined,
          key: options.key as string | Buffer | undefined,
          servername: options.servername,
          rejectUnauthorized: options.rejectUnauthorized,
        },
        headers: headersOf(options),
      };
    },
  };
}

/** The headers the library set, plus basic authentication (which it leaves in `auth`). */
function headersOf(options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  return headers;
}
