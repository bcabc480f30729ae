/** A test CA loaded the way the agent loads its credentials, from memory instead of files. */
import { type IssuerCredentials, loadIssuer, loadTrustAnchors, type TrustAnchors } from '../../src/issuer/index.js';
import type { TestCa } from './test-ca.js';

/** The CA's root as the trust anchors and its intermediate as the issuer, loaded and checked at `now`. */
export async function loadTestCredentials(ca: TestCa, now: number): Promise<{ anchors: TrustAnchors; issuer: IssuerCredentials }> {
  const files: Record<string, string> = {
    '/anchors.pem': ca.root.pem,
    '/issuer/tls.crt': ca.intermediate.pem,
    '/issuer/tls.key': ca.intermediate.privateKeyPem,
  };
  const readFile = async (path: string) => Buffer.from(files[path] ?? '');
  const anchors = await loadTrustAnchors('/anchors.pem', { now, readFile });
  return { anchors, issuer: await loadIssuer('/issuer', anchors, { now, readFile }) };
}
