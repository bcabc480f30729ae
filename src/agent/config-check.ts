/**
 * What `svid-agent validate` checks beyond the configuration itself: that the credentials and
 * the kubeconfig an agent would be given load, without starting anything (no socket, no
 * listener, no Kubernetes API call).
 */
import { describeError, isAgentError } from '../errors.js';
import { loadIssuer, loadJwtSigningKey, loadTrustAnchors } from '../issuer/index.js';
import type { AgentConfig } from './config.js';

/** Options of {@link checkAgentFiles}. */
export interface CheckAgentFilesOptions {
  /** Check the trust anchors, issuer and JWT key (`--dev` skips them until it has made them). */
  readonly credentials: boolean;
  /** Default the wall clock. */
  readonly now?: number;
}

/** Loads the files `config` names; returns one line per problem, each naming its flag. */
export async function checkAgentFiles(config: AgentConfig, options: CheckAgentFilesOptions): Promise<string[]> {
  const now = options.now ?? Date.now();
  const problems: string[] = [];
  const check = async (what: string, load: () => Promise<unknown>): Promise<void> => {
    try {
      await load();
    } catch (err) {
      problems.push(`${what}: ${isAgentError(err) ? err.message : describeError(err)}`);
    }
  };
  if (options.credentials) {
    await check('--trust-anchors', async () => {
      const anchors = await loadTrustAnchors(config.trustAnchors, { now });
      const issuerDir = config.issuerDir;
      if (issuerDir !== undefined) await check('--issuer-dir', () => loadIssuer(issuerDir, anchors, { now }));
    });
    const jwtKey = config.jwtKey;
    if (jwtKey !== undefined) await check('--jwt-key', () => loadJwtSigningKey(jwtKey));
  }
  // With the central issuer the attestor asks the issuer to review tokens: no Kubernetes client.
  if (config.attestor === 'k8s' && config.centralIssuer === undefined) {
    // Loaded on use: the Kubernetes client is heavy, and only this attestor needs it.
    const { loadKubeConfig } = await import('../attestor/kubernetes.js');
    await check('--kubeconfig', async () => loadKubeConfig({ kubeconfigPath: config.kubeconfig }));
  }
  return problems;
}
