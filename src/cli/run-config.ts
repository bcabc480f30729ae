/**
 * The readonly, defaulted configuration of `svid-agent run` (SPEC §9), produced by
 * `loadRunConfig` in `config.ts` from flags, a YAML file and the environment.
 */
import type { LogLevel } from '../log.js';

export type AttestorKind = 'k8s' | 'unix';

export interface RunConfig {
  /** `--dev`: self-made credentials under {@link devDir}, unix attestor, local socket. */
  readonly dev: boolean;
  /** Where `--dev` keeps its credentials and socket; `./.svid-agent` (absolute). */
  readonly devDir: string;
  /** `--socket` (env SVID_AGENT_SOCKET): absolute Workload API socket path. */
  readonly socket: string;
  /** `--trust-domain`, default `cluster.local`. */
  readonly trustDomain: string;
  /** `--trust-anchors`: PEM bundle of roots. Required unless `dev`. */
  readonly trustAnchors: string;
  /** `--issuer-dir`: holds tls.crt+tls.key or crt.pem+key.pem. Required unless `dev`. */
  readonly issuerDir: string;
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
  /** `--identity-domain`, default `identity.linkerd.<trustDomain>`. */
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
  /** `--shutdown-timeout` in ms, default 5s: how long SIGTERM waits for streams to end. */
  readonly shutdownTimeoutMs: number;
  /** `--health-addr` HOST:PORT for `/live`, `/ready` and `/metrics`; default `''`: no HTTP listener. */
  readonly healthAddr: string;
  /** `--log-level`, default `info`. */
  readonly logLevel: LogLevel;
}
