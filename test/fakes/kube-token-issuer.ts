/**
 * The token half of the fake Kubernetes API: mints service-account JWTs (ES256, the claim shape
 * of kube-apiserver's bound tokens) and reviews tokens the way kube-apiserver's TokenReview does:
 * signature, then audiences (requested ∩ token, the API's own audiences when none are requested),
 * then `exp`/`nbf` with go-jose's one-minute leeway, then whether the bound pod still exists.
 * It can also mint tokens of users that are not service accounts, standing in for another
 * authenticator (OIDC, static tokens).
 */
import { type KeyObject, randomUUID, verify } from 'node:crypto';
import { SignJWT } from 'jose';
import { type Clock, systemClock } from '../../src/clock.js';
import { newKeyPair } from '../../src/issuer/index.js';

/** The API server's default audience (`--api-audiences`, defaults to the issuer). */
export const DEFAULT_API_AUDIENCE = 'https://kubernetes.default.svc';
/** `iss` of every token the fake mints. */
export const FAKE_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const USER_CLAIM = 'fake.kubernetes.io/user';
/** go-jose's `DefaultLeeway`, used by kube-apiserver's service-account token validator. */
const LEEWAY_S = 60;

/** What a service-account token says. Omit `pod` for a legacy-like token not bound to a pod. */
export interface ServiceAccountTokenSpec {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly pod?: { readonly name: string; readonly uid: string };
  readonly node?: { readonly name: string; readonly uid?: string };
  /** Default `[DEFAULT_API_AUDIENCE]`, what kube issues when no audience is asked for. */
  readonly audiences?: readonly string[];
  /** Seconds from the issuer clock's now; default 3600. Negative mints an expired token. */
  readonly expiresInSeconds?: number;
  /** Seconds from now for `nbf` and `iat`; default 0. */
  readonly notBeforeInSeconds?: number;
}

/** A user of another authenticator. */
export interface UserTokenSpec {
  readonly username: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  readonly audiences?: readonly string[];
  readonly expiresInSeconds?: number;
}

/** `status.user` of a TokenReview. */
export interface ReviewedUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** `status` of a TokenReview. */
export interface ReviewStatus {
  authenticated: boolean;
  user?: ReviewedUser;
  audiences?: string[];
  error?: string;
}

interface KubeClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  node?: { name: string; uid: string };
}

/** Mints and reviews tokens with one ES256 key. */
export interface FakeTokenIssuer {
  mintServiceAccountToken(spec: ServiceAccountTokenSpec): Promise<string>;
  mintUserToken(spec: UserTokenSpec): Promise<string>;
  /** Marks a pod deleted: its bound tokens stop authenticating ("token has been invalidated"). */
  deletePod(uid: string): void;
  review(token: string, requestedAudiences: readonly string[]): Promise<ReviewStatus>;
}

/** Go's `%q` of a `[]string`: `["a" "b"]`. */
function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

interface CompactJws {
  readonly header: Record<string, unknown>;
  readonly signingInput: string;
  readonly payload: string;
  readonly signature: string;
}

/** The three parts of a compact JWS whose header is a JSON object, or `undefined` for anything else. */
function parseCompactJws(token: string): CompactJws | undefined {
  const parts = token.split('.');
  // Unpadded base64url only, as go-jose's decoder reads it (Buffer's would skip stray characters).
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]*$/.test(part))) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  try {
    const decoded: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return undefined;
    return { header: decoded as Record<string, unknown>, signingInput: `${header}.${payload}`, payload, signature };
  } catch {
    return undefined;
  }
}

/**
 * The claims of an ES256 JWS signed by `key`, or `undefined`: another algorithm, a critical
 * header, a bad signature or a payload that is not a JSON object. Verified with node:crypto in one
 * synchronous call (~0.1 ms), as the API server does it in-process, not through WebCrypto's
 * thread-pool jobs (~0.4 ms and two thread hops, which the first-SVID benchmark timed as the agent's).
 */
function verifiedPayload(jws: CompactJws, key: KeyObject): Record<string, unknown> | undefined {
  if (jws.header.alg !== 'ES256' || 'crit' in jws.header) return undefined;
  const signature = Buffer.from(jws.signature, 'base64url');
  if (signature.length !== 64 || !verify('sha256', Buffer.from(jws.signingInput), { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    return undefined;
  }
  try {
    const claims: unknown = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function invalid(reason: string): ReviewStatus {
  return { authenticated: false, error: `[invalid bearer token, ${reason}]` };
}

/** Creates an issuer with a fresh key. */
export async function createFakeTokenIssuer(options: { clock?: Clock; apiAudiences?: readonly string[] } = {}): Promise<FakeTokenIssuer> {
  const clock = options.clock ?? systemClock;
  const apiAudiences = [...(options.apiAudiences ?? [DEFAULT_API_AUDIENCE])];
  const { privateKey, publicKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const serviceAccountUids = new Map<string, string>();
  const deletedPods = new Set<string>();
  const nowS = (): number => Math.floor(clock.now() / 1000);

  async function sign(
    claims: Record<string, unknown>,
    audiences: readonly string[],
    expiresIn: number,
    nbfIn: number,
    subject: string,
  ): Promise<string> {
    const now = nowS();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(FAKE_ISSUER)
      .setSubject(subject)
      .setAudience([...audiences])
      .setIssuedAt(now + nbfIn)
      .setNotBefore(now + nbfIn)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(privateKey);
  }

  function serviceAccountUid(namespace: string, name: string): string {
    const key = `${namespace}/${name}`;
    let uid = serviceAccountUids.get(key);
    if (uid === undefined) {
      uid = randomUUID();
      serviceAccountUids.set(key, uid);
    }
    return uid;
  }

  return {
    mintServiceAccountToken(spec) {
      const kube: KubeClaims = {
        namespace: spec.namespace,
        serviceaccount: { name: spec.serviceAccount, uid: serviceAccountUid(spec.namespace, spec.serviceAccount) },
      };
      if (spec.pod) kube.pod = { name: spec.pod.name, uid: spec.pod.uid };
      if (spec.node) kube.node = { name: spec.node.name, uid: spec.node.uid ?? randomUUID() };
      const subject = `system:serviceaccount:${spec.namespace}:${spec.serviceAccount}`;
      const audiences = spec.audiences ?? [DEFAULT_API_AUDIENCE];
      return sign({ 'kubernetes.io': kube }, audiences, spec.expiresInSeconds ?? 3600, spec.notBeforeInSeconds ?? 0, subject);
    },
    mintUserToken(spec) {
      const user = { groups: [...(spec.groups ?? ['system:authenticated'])], extra: spec.extra ?? {} };
      const audiences = spec.audiences ?? [DEFAULT_API_AUDIENCE];
      return sign({ [USER_CLAIM]: user }, audiences, spec.expiresInSeconds ?? 3600, 0, spec.username);
    },
    deletePod(uid) {
      deletedPods.add(uid);
    },
    async review(token, requestedAudiences) {
      const jws = parseCompactJws(token);
      // Not a JWT: no authenticator recognises it, which is "not authenticated" with no error.
      if (!jws) return { authenticated: false };
      const payload = verifiedPayload(jws, publicKey);
      if (!payload) return invalid('go-jose/go-jose: error in cryptographic primitive');
      const tokenAudiences = Array.isArray(payload.aud) ? payload.aud.map(String) : [String(payload.aud)];
      const wanted = requestedAudiences.length > 0 ? [...requestedAudiences] : apiAudiences;
      const audiences = tokenAudiences.filter((a) => wanted.includes(a));
      if (audiences.length === 0) {
        return invalid(`token audiences ${goQuoted(tokenAudiences)} is invalid for the target audiences ${goQuoted(wanted)}`);
      }
      const now = nowS();
      if (typeof payload.exp === 'number' && now > payload.exp + LEEWAY_S) return invalid('service account token has expired');
      if (typeof payload.nbf === 'number' && now < payload.nbf - LEEWAY_S) return invalid('service account token is not valid yet');
      const subject = String(payload.sub);
      const other = payload[USER_CLAIM] as { groups: string[]; extra: Record<string, string[]> } | undefined;
      if (other) {
        return { authenticated: true, audiences, user: { username: subject, uid: '', groups: other.groups, extra: other.extra } };
      }
      const kube = payload['kubernetes.io'] as KubeClaims;
      if (kube.pod && deletedPods.has(kube.pod.uid)) return invalid('token has been invalidated');
      const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${String(payload.jti)}`] };
      if (kube.pod) {
        extra['authentication.kubernetes.io/pod-name'] = [kube.pod.name];
        extra['authentication.kubernetes.io/pod-uid'] = [kube.pod.uid];
      }
      if (kube.node) {
        extra['authentication.kubernetes.io/node-name'] = [kube.node.name];
        extra['authentication.kubernetes.io/node-uid'] = [kube.node.uid];
      }
      const groups = ['system:serviceaccounts', `system:serviceaccounts:${kube.namespace}`, 'system:authenticated'];
      return { authenticated: true, audiences, user: { username: subject, uid: kube.serviceaccount.uid, groups, extra } };
    },
  };
}
