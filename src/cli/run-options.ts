/**
 * The options of `svid-agent run` (docs/configuration.md) in one table. The same table drives the commander
 * flags (`main`), the config-file keys and env variables read by `loadRunConfig`, and
 * {@link RUN_FLAGS}, so a flag cannot exist in one place and be missing from another.
 */

/** How an option's raw value is read before validation. */
export type RunOptionKind = 'string' | 'duration' | 'boolean' | 'list' | 'count';

/** One `svid-agent run` option. */
export interface RunOptionSpec {
  /** Long flag name without dashes, e.g. `svid-ttl`. */
  readonly flag: string;
  /** camelCase name: the commander attribute and the config-file key, e.g. `svidTtl`. */
  readonly key: string;
  readonly kind: RunOptionKind;
  /** Placeholder shown in `--help`, e.g. `DURATION`; none for booleans. */
  readonly arg?: string;
  /** Environment variable that sets the option; a flag wins over it, it wins over the file. */
  readonly env?: string;
  /** One-line help text, with the default. */
  readonly description: string;
}

/** Every option `svid-agent run` accepts, in `--help` order. `config` is the only flag with no file key. */
export const RUN_OPTIONS = [
  {
    flag: 'dev',
    key: 'dev',
    kind: 'boolean',
    description: 'no files, no cluster: own credentials in ./.svid-agent/credentials, unix attestor, socket ./.svid-agent/agent.sock',
  },
  { flag: 'config', key: 'config', kind: 'string', arg: 'FILE', description: 'YAML file with the options below in camelCase' },
  {
    flag: 'socket',
    key: 'socket',
    kind: 'string',
    arg: 'PATH',
    env: 'SVID_AGENT_SOCKET',
    description: 'Workload API socket (default /run/svid-agent/agent.sock; with --dev ./.svid-agent/agent.sock)',
  },
  {
    flag: 'trust-domain',
    key: 'trustDomain',
    kind: 'string',
    arg: 'NAME',
    description: 'trust domain of SPIFFE IDs (default cluster.local)',
  },
  {
    flag: 'trust-anchors',
    key: 'trustAnchors',
    kind: 'string',
    arg: 'FILE',
    description: 'PEM bundle of roots (Linkerd: ca-bundle.crt); required unless --dev',
  },
  {
    flag: 'issuer-dir',
    key: 'issuerDir',
    kind: 'string',
    arg: 'DIR',
    description: 'holds tls.crt+tls.key or crt.pem+key.pem; required unless --dev or --issuer-addr',
  },
  {
    flag: 'jwt-key',
    key: 'jwtKey',
    kind: 'string',
    arg: 'FILE',
    description: 'PEM private key for JWT-SVIDs, shared by all agents (default: no JWT-SVIDs)',
  },
  {
    flag: 'issuer-addr',
    key: 'issuerAddr',
    kind: 'string',
    arg: 'HOST:PORT',
    description: 'use the central issuer there instead of a signing key of our own (excludes --issuer-dir, --jwt-key, --dev)',
  },
  {
    flag: 'issuer-server-name',
    key: 'issuerServerName',
    kind: 'string',
    arg: 'NAME',
    description: 'TLS name the issuer must present (default linkerd-identity.<cp-ns>.serviceaccount.<identity-domain>)',
  },
  {
    flag: 'issuer-plaintext',
    key: 'issuerPlaintext',
    kind: 'boolean',
    description: 'reach the issuer with h2c, without TLS; only to a loopback address',
  },
  {
    flag: 'agent-token-path',
    key: 'agentTokenPath',
    kind: 'string',
    arg: 'PATH',
    description: "the agent's own projected token for the issuer (default /var/run/secrets/tokens/svid-agent-token)",
  },
  {
    flag: 'attestor',
    key: 'attestor',
    kind: 'string',
    arg: 'k8s|unix',
    description: 'how callers are identified (default k8s; with --dev unix)',
  },
  { flag: 'kubeconfig', key: 'kubeconfig', kind: 'string', arg: 'FILE', description: 'default: in-cluster config, else $KUBECONFIG' },
  {
    flag: 'node-name',
    key: 'nodeName',
    kind: 'string',
    arg: 'NAME',
    env: 'NODE_NAME',
    description: 'this node; required with --attestor k8s',
  },
  { flag: 'proc-root', key: 'procRoot', kind: 'string', arg: 'DIR', description: 'where /proc is read from (default /proc)' },
  {
    flag: 'token-path',
    key: 'tokenPath',
    kind: 'list',
    arg: 'PATH',
    description: 'token file inside the pod, repeatable (default /var/run/secrets/tokens/linkerd-identity-token)',
  },
  {
    flag: 'token-audience',
    key: 'tokenAudience',
    kind: 'string',
    arg: 'AUD',
    description: 'TokenReview audience (default identity.l5d.io)',
  },
  {
    flag: 'identity-domain',
    key: 'identityDomain',
    kind: 'string',
    arg: 'NAME',
    description: 'suffix of DNS-form names (default identity.linkerd.<trust-domain>)',
  },
  { flag: 'svid-ttl', key: 'svidTtl', kind: 'duration', arg: 'DURATION', description: 'X.509-SVID lifetime (default 24h)' },
  { flag: 'jwt-ttl', key: 'jwtTtl', kind: 'duration', arg: 'DURATION', description: 'JWT-SVID lifetime (default 5m)' },
  {
    flag: 'clock-skew',
    key: 'clockSkew',
    kind: 'duration',
    arg: 'DURATION',
    description: 'backdating of notBefore and slack on notAfter (default 20s)',
  },
  {
    flag: 'min-refresh',
    key: 'minRefresh',
    kind: 'duration',
    arg: 'DURATION',
    description: 'shortest wait before rotating an SVID (default 10s)',
  },
  {
    flag: 'max-refresh',
    key: 'maxRefresh',
    kind: 'duration',
    arg: 'DURATION',
    description: 'longest wait before rotating an SVID (default 24h)',
  },
  {
    flag: 'svid-idle-ttl',
    key: 'svidIdleTtl',
    kind: 'duration',
    arg: 'DURATION',
    description: "keep an identity's SVID this long after its last stream closes (default 60s; 0 = drop at once)",
  },
  {
    flag: 'max-connections',
    key: 'maxConnections',
    kind: 'count',
    arg: 'N',
    description: 'open Workload API connections in all (default 1024; lowered to stay below the fd limit)',
  },
  {
    flag: 'max-caller-connections',
    key: 'maxCallerConnections',
    kind: 'count',
    arg: 'N',
    description: 'open connections of one caller: a uid, or a pod with --attestor k8s (default 128)',
  },
  { flag: 'max-streams', key: 'maxStreams', kind: 'count', arg: 'N', description: 'open streams (calls) in all (default 4096)' },
  {
    flag: 'max-caller-streams',
    key: 'maxCallerStreams',
    kind: 'count',
    arg: 'N',
    description: 'open streams of one caller (default 1024)',
  },
  {
    flag: 'shutdown-timeout',
    key: 'shutdownTimeout',
    kind: 'duration',
    arg: 'DURATION',
    description: 'how long SIGTERM waits for streams to end (default 5s)',
  },
  {
    flag: 'health-addr',
    key: 'healthAddr',
    kind: 'string',
    arg: 'HOST:PORT',
    description: 'serve /live, /ready and /metrics here, e.g. 127.0.0.1:9090 (default: no HTTP listener)',
  },
  {
    flag: 'log-level',
    key: 'logLevel',
    kind: 'string',
    arg: 'LEVEL',
    description: 'trace|debug|info|warn|error|fatal|silent (default info); JSON on stderr',
  },
] as const satisfies readonly RunOptionSpec[];

/** The camelCase name of a `run` option. */
export type RunOptionKey = (typeof RUN_OPTIONS)[number]['key'];

/**
 * Every long flag of `svid-agent run`, without dashes (`trust-domain`, `token-path`, ...).
 * Manifest tests check the DaemonSet's args against this list.
 */
export const RUN_FLAGS: readonly string[] = RUN_OPTIONS.map((o) => o.flag);

/** The raw flag values commander hands to the `run` action (all optional; no defaults are set there). */
export type RunFlags = {
  readonly [K in (typeof RUN_OPTIONS)[number] as K['key']]?: K['kind'] extends 'boolean'
    ? boolean
    : K['kind'] extends 'list'
      ? readonly string[]
      : string;
};
