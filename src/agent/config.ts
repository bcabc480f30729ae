/**
 * What a running agent is configured with. The CLI builds it (`src/cli/config.ts`: flags, the
 * environment and a YAML file, validated and defaulted) and hands it to `startAgent`/`runAgent`;
 * the names follow the `run` flags (docs/decisions.md, "Configuration precedence").
 */

/** `--attestor`. */
export type AttestorKind = 'k8s' | 'unix';

/** How the agent reaches the central issuer (`run --issuer-addr`; docs/central-issuer.md). */
export interface CentralIssuerConfig {
  /** `--issuer-addr` HOST:PORT of the issuer's node service. */
  readonly address: string;
  /** `--issuer-server-name`: the TLS name the issuer must present, verified against the trust anchors only. */
  readonly serverName: string;
  /** `--issuer-plaintext`: h2c without TLS; only to a loopback address. */
  readonly plaintext: boolean;
  /** `--agent-token-path`: the agent's own projected token, re-read on every call. */
  readonly agentTokenPath: string;
}

/** The readonly, defaulted, validated configuration of one agent. */
export interface AgentConfig {
  /** `--socket` (env SVID_AGENT_SOCKET): absolute Workload API socket path. */
  readonly socket: string;
  /** `--trust-domain`, default `cluster.local`. */
  readonly trustDomain: string;
  /** `--trust-anchors`: PEM bundle of roots. */
  readonly trustAnchors: string;
  /**
   * `--issuer-dir`: holds tls.crt+tls.key or crt.pem+key.pem (the embedded issuer). `undefined`
   * only with {@link AgentConfig.centralIssuer}: the agent then holds no signing key.
   */
  readonly issuerDir: string | undefined;
  /** `--jwt-key`: PEM private key for JWT-SVIDs; `undefined` disables JWT-SVIDs. */
  readonly jwtKey: string | undefined;
  /** `--attestor`, default `k8s` (`unix` with `--dev`). */
  readonly attestor: AttestorKind;
  /** `--kubeconfig`; `undefined` = in-cluster config, else $KUBECONFIG. */
  readonly kubeconfig: string | undefined;
  /** `--node-name` (env NODE_NAME). */
  readonly nodeName: string | undefined;
  /** `--proc-root`, default `/proc`. */
  readonly procRoot: string;
  /** `--token-path` (repeatable), default [`/var/run/secrets/tokens/linkerd-identity-token`]. */
  readonly tokenPaths: readonly string[];
  /** `--token-audience`, default `identity.l5d.io`. */
  readonly tokenAudience: string;
  /** `--identity-domain`, default `identity.linkerd.<trustDomain>`: suffix of the Linkerd DNS-form names. */
  readonly identityDomain: string;
  /** `--svid-ttl` in ms, default 24h. */
  readonly svidTtlMs: number;
  /** `--jwt-ttl` in ms, default 5m. */
  readonly jwtTtlMs: number;
  /** `--clock-skew` in ms, default 20s. */
  readonly clockSkewMs: number;
  /** `--min-refresh` in ms, default 10s. */
  readonly minRefreshMs: number;
  /** `--max-refresh` in ms, default 24h. */
  readonly maxRefreshMs: number;
  /** `--svid-idle-ttl` in ms, default 60s: how long an identity with no stream left keeps its SVID; 0 drops it at once. */
  readonly svidIdleTtlMs: number;
  /** `--max-connections`, default 1024: open Workload API connections in total (lowered below the fd limit). */
  readonly maxConnections: number;
  /** `--max-caller-connections`, default 128: open connections of one caller (a uid; a pod in k8s mode). */
  readonly maxCallerConnections: number;
  /** `--max-streams`, default 4096: open calls in total. */
  readonly maxStreams: number;
  /** `--max-caller-streams`, default 1024: open calls of one caller. */
  readonly maxCallerStreams: number;
  /** `--shutdown-timeout` in ms, default 5s: how long a stop waits for streams to end. */
  readonly shutdownTimeoutMs: number;
  /** `--issuer-addr` and its options: use the central issuer; `undefined` = the embedded issuer. */
  readonly centralIssuer: CentralIssuerConfig | undefined;
  /** `--health-addr` HOST:PORT for `/live`, `/ready` and `/metrics`; default `''`: no HTTP listener. */
  readonly healthAddr: string;
}
