/**
 * What Linkerd's control-plane chart renders for its identity controller, written out for a
 * control-plane namespace, so manifest tests can resolve a proxy's identity address the way the
 * cluster does. Sources (linkerd2): `charts/partials/templates/_proxy.tpl` (the proxy's
 * `LINKERD2_PROXY_IDENTITY_SVC_ADDR` and `_NAME`), `charts/linkerd-control-plane/templates/identity.yaml`
 * (the Services `linkerd-identity` and `linkerd-identity-headless`, the Deployment's selector) and
 * `_metadata.tpl` (`partials.proxy.labels`).
 */

/** A Service as the chart renders it: the parts resolution uses. */
export interface ChartService {
  readonly name: string;
  readonly namespace: string;
  /** `None` for the headless one. */
  readonly clusterIP: string | undefined;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly port: number; readonly targetPort: number }>;
}

/** The identity environment of every proxy the chart's injector makes (not the identity pod's own). */
export function proxyIdentityEnv(o: { namespace: string; clusterDomain: string; trustDomain: string }): {
  LINKERD2_PROXY_IDENTITY_SVC_ADDR: string;
  LINKERD2_PROXY_IDENTITY_SVC_NAME: string;
} {
  return {
    LINKERD2_PROXY_IDENTITY_SVC_ADDR: `linkerd-identity-headless.${o.namespace}.svc.${o.clusterDomain}.:8080`,
    LINKERD2_PROXY_IDENTITY_SVC_NAME: `linkerd-identity.${o.namespace}.serviceaccount.identity.${o.namespace}.${o.trustDomain}`,
  };
}

/** The chart's two identity Services in `namespace`. */
export function identityServices(namespace: string): ChartService[] {
  const common = {
    namespace,
    selector: { 'linkerd.io/control-plane-component': 'identity' },
    ports: [{ name: 'grpc', port: 8080, targetPort: 8080 }],
  };
  return [
    { name: 'linkerd-identity', clusterIP: undefined, ...common },
    { name: 'linkerd-identity-headless', clusterIP: 'None', ...common },
  ];
}

/** `spec.selector.matchLabels` of the chart's `linkerd-identity` Deployment in `namespace`. */
export function identityDeploymentSelector(namespace: string): Record<string, string> {
  return {
    'linkerd.io/control-plane-component': 'identity',
    'linkerd.io/control-plane-ns': namespace,
    'linkerd.io/proxy-deployment': 'linkerd-identity',
  };
}

/** The labels of the chart's identity pods (`podLabels` empty), which our selector must not match. */
export function identityPodLabels(namespace: string): Record<string, string> {
  return { ...identityDeploymentSelector(namespace), 'linkerd.io/workload-ns': namespace };
}

/** Labels `selector` requires that `labels` lack or contradict; empty when it selects them. */
export function unmatched(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(selector)
    .filter(([k, v]) => labels[k] !== v)
    .map(([k]) => k);
}
