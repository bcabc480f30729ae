/**
 * Workload identity names, shared by the attestors, the issuer and the agent.
 *
 * A workload is a Kubernetes-style account `(type, namespace, name)`; it has two spellings:
 * - the SPIFFE ID `spiffe://<trust-domain>/ns/<namespace>/sa/<name>` (docs/certificates.md), and
 * - Linkerd's DNS-form name `<name>.<namespace>.<type>.<identity-domain>` (docs/certificates.md), e.g.
 *   `web.emojivoto.serviceaccount.identity.linkerd.cluster.local`.
 */

/** The account a token or an attestor proves. `type` is `serviceaccount` for Kubernetes tokens. */
export interface AccountRef {
  readonly type: string;
  readonly namespace: string;
  readonly name: string;
}

/** The names one workload identity is known by. */
export interface WorkloadIdentity {
  /** `spiffe://<td>/ns/<ns>/sa/<sa>` */
  readonly spiffeId: string;
  /** `<sa>.<ns>.serviceaccount.<identity-domain>` */
  readonly dnsName: string;
  readonly account: AccountRef;
}

/** Where the names live. */
export interface NamingConfig {
  /** Trust domain of SPIFFE IDs, e.g. `cluster.local`. */
  readonly trustDomain: string;
  /** Suffix of DNS-form names, e.g. `identity.linkerd.cluster.local`. */
  readonly identityDomain: string;
}

export const SERVICE_ACCOUNT_TYPE = 'serviceaccount';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Kubernetes' DNS-1123 label: 1-63 lower-case alphanumerics or '-', alphanumeric at both ends. */
export function isDns1123Label(s: string): boolean {
  return s.length >= 1 && s.length <= 63 && DNS1123_LABEL.test(s);
}

/** Kubernetes' DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length >= 1 && s.length <= 253 && s.split('.').every(isDns1123Label);
}

/** A SPIFFE trust domain name: lower-case `[a-z0-9._-]`, at most 255 bytes. */
export function isTrustDomain(s: string): boolean {
  return s.length >= 1 && s.length <= 255 && TRUST_DOMAIN.test(s);
}

/** The control-plane namespace Linkerd installs into, the `<cp-ns>` of its identity domain. */
export const LINKERD_CONTROL_PLANE_NAMESPACE = 'linkerd';

/**
 * The identity domain Linkerd uses with a trust domain: `identity.linkerd.<trust-domain>`, the
 * `identity.<control-plane-ns>.<trust-domain>` of linkerd2 `controller/cmd/identity/main.go`
 * (`expectedName`) and `controller/identity/domain.go`. The default of `--identity-domain`.
 */
export function defaultIdentityDomain(trustDomain: string): string {
  return `identity.${LINKERD_CONTROL_PLANE_NAMESPACE}.${trustDomain}`;
}

/** The service account Linkerd's identity controller runs as, in the control-plane namespace. */
export const LINKERD_IDENTITY_SERVICE_ACCOUNT = 'linkerd-identity';

/**
 * The control-plane namespace an identity domain names: the `<cp-ns>` of
 * `identity.<cp-ns>.<trust-domain>`.
 * @returns `undefined` when `identityDomain` does not have that shape
 */
export function controlPlaneNamespaceOf(identityDomain: string): string | undefined {
  const [first, namespace, ...rest] = identityDomain.split('.');
  if (first !== 'identity' || namespace === undefined || rest.length === 0 || !isDns1123Label(namespace)) return undefined;
  return namespace;
}

/**
 * The central issuer's own TLS name (`issuer --server-name`, `run --issuer-server-name`) unless
 * one is given: the name Linkerd's proxies expect of the identity controller
 * (`LINKERD2_PROXY_IDENTITY_SVC_NAME` in linkerd2 `charts/partials/templates/_proxy.tpl`),
 * `linkerd-identity.<cp-ns>.serviceaccount.<identity-domain>` with `<cp-ns>` taken from
 * `identity.<cp-ns>.<trust-domain>`.
 * @returns `undefined` when the identity domain does not have that shape (then the name must be given)
 */
export function defaultIssuerServerName(identityDomain: string): string | undefined {
  const namespace = controlPlaneNamespaceOf(identityDomain);
  if (namespace === undefined) return undefined;
  return `${LINKERD_IDENTITY_SERVICE_ACCOUNT}.${namespace}.${SERVICE_ACCOUNT_TYPE}.${identityDomain}`;
}

/** `spiffe://<td>` — the key of bundle maps. */
export function trustDomainId(trustDomain: string): string {
  return `spiffe://${trustDomain}`;
}

/** A parsed SPIFFE ID. */
export interface SpiffeId {
  readonly trustDomain: string;
  /** The path, starting with `/`, or `''` for a trust-domain ID. */
  readonly path: string;
}

/**
 * Parses a SPIFFE ID (SPIFFE-ID.md §2), or returns an error message saying what is wrong.
 * The trust domain is matched case-insensitively and returned lower-cased.
 */
export function parseSpiffeId(id: string): SpiffeId | string {
  if (id.length > 2048) return 'SPIFFE ID is longer than 2048 bytes';
  const m = /^spiffe:\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(id);
  if (!m) return 'SPIFFE ID must have the form spiffe://<trust-domain>/<path> with no query or fragment';
  const trustDomain = (m[1] ?? '').toLowerCase();
  if (!isTrustDomain(trustDomain)) return 'SPIFFE ID trust domain must be non-empty lower-case [a-z0-9._-]';
  const path = m[2] ?? '';
  if (path !== '') {
    const segments = path.slice(1).split('/');
    for (const seg of segments) {
      if (seg === '') return 'SPIFFE ID path must not contain empty segments or a trailing slash';
      if (seg === '.' || seg === '..') return 'SPIFFE ID path must not contain . or .. segments';
      if (!PATH_SEGMENT.test(seg)) return 'SPIFFE ID path segments may only contain [A-Za-z0-9._-]';
    }
  }
  return { trustDomain, path };
}

/** The SPIFFE ID of a service account. */
export function spiffeIdFor(account: AccountRef, naming: NamingConfig): string {
  return `spiffe://${naming.trustDomain}/ns/${account.namespace}/sa/${account.name}`;
}

/** Linkerd's DNS-form name of an account. */
export function dnsNameFor(account: AccountRef, naming: NamingConfig): string {
  return `${account.name}.${account.namespace}.${account.type}.${naming.identityDomain}`;
}

/** Both names of an account. */
export function workloadIdentityFor(account: AccountRef, naming: NamingConfig): WorkloadIdentity {
  return { spiffeId: spiffeIdFor(account, naming), dnsName: dnsNameFor(account, naming), account };
}

/**
 * The account behind a name in either form, or `undefined` when the name is not one this
 * naming could have produced (another trust domain, another path shape, bad labels).
 */
export function accountFromName(name: string, naming: NamingConfig): AccountRef | undefined {
  if (name.toLowerCase().startsWith('spiffe://')) {
    const id = parseSpiffeId(name);
    if (typeof id === 'string' || id.trustDomain !== naming.trustDomain) return undefined;
    const m = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id.path);
    if (!m) return undefined;
    const account = { type: SERVICE_ACCOUNT_TYPE, namespace: m[1] as string, name: m[2] as string };
    return isDns1123Label(account.namespace) && isDns1123Label(account.name) ? account : undefined;
  }
  const suffix = `.${naming.identityDomain}`;
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length !== 3 || !labels.every(isDns1123Label)) return undefined;
  const [accountName, namespace, type] = labels as [string, string, string];
  return { type, namespace, name: accountName };
}
