/**
 * What a running central issuer (`svid-agent issuer`) is configured with. The CLI builds it
 * (`src/cli/issuer-config.ts`: flags and a YAML file, validated and defaulted) and hands it to
 * `startIssuerServer`/`runIssuerServer`; the names follow the flags (docs/central-issuer.md).
 */

/** The readonly, defaulted, validated configuration of one issuer. */
export interface IssuerServerConfig {
  /** `--listen` HOST:PORT of the node service, default `0.0.0.0:8080`. */
  readonly listen: string;
  /** `--plaintext`: h2c without TLS; the CLI accepts it only on a loopback address. */
  readonly plaintext: boolean;
  /** `--server-name`: the DNS name of the issuer's own TLS certificate, never signed for anyone else. */
  readonly serverName: string;
  /** `--trust-domain`, default `cluster.local`. */
  readonly trustDomain: string;
  /** `--trust-anchors`: PEM bundle of roots. */
  readonly trustAnchors: string;
  /** `--issuer-dir`: holds tls.crt+tls.key or crt.pem+key.pem. */
  readonly issuerDir: string;
  /** `--jwt-key`: PEM private key for JWT-SVIDs; `undefined`: MintJWTSVID answers UNIMPLEMENTED. */
  readonly jwtKey: string | undefined;
  /** `--jwt-ttl` in ms, default 5m. */
  readonly jwtTtlMs: number;
  /** `--identity-domain`, default `identity.linkerd.<trustDomain>`. */
  readonly identityDomain: string;
  /** `--svid-ttl` in ms, default 24h: leaf lifetime, and how long a renewal ticket lasts. */
  readonly svidTtlMs: number;
  /** `--clock-skew` in ms, default 20s. */
  readonly clockSkewMs: number;
  /** `--kubeconfig`; `undefined` = in-cluster config, else $KUBECONFIG. */
  readonly kubeconfig: string | undefined;
  /** `--token-audience`, default `identity.l5d.io`: the audience of workload tokens. */
  readonly tokenAudience: string;
  /** `--agent-audience`, default `svid-agent`: the audience of the agents' own tokens. */
  readonly agentAudience: string;
  /** `--agent-service-account` NS/NAME, default `svid-agent/svid-agent`. */
  readonly agentServiceAccount: { readonly namespace: string; readonly name: string };
  /** `--health-addr` HOST:PORT for `/live`, `/ready` and `/metrics`; `''`: no HTTP listener. */
  readonly healthAddr: string;
  /** `--shutdown-timeout` in ms, default 5s. */
  readonly shutdownTimeoutMs: number;
}
