/**
 * What signs for a running agent, as the composition root sees it: the embedded issuer (the
 * agent's own `--issuer-dir` and `--jwt-key`) or the central issuer (`--issuer-addr`). Either way
 * it brings the attestor, the SVID store's issuing port and the JWT source; the rest of the agent
 * is the same.
 */
import type { WorkloadAttestor } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import type { IssuerCredentials, TrustAnchors } from '../issuer/index.js';
import type { Logger } from '../log.js';
import type { Receiver } from '../value-channel.js';
import type { JwtSource } from './jwt-source.js';
import type { AgentMetrics } from './metrics.js';
import type { SvidStore } from './svid-store.js';
import type { X509SvidIssuer } from './x509-svid-issuer.js';

/** What an issuing side is built from. */
export interface IssuingDeps {
  /** The trust anchors in use (followed by the credential reloader). */
  readonly anchors: Receiver<TrustAnchors>;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Uniform in [0, 1); default `Math.random`. */
  readonly random?: () => number;
}

/** The signing side of a running agent. */
export interface Issuing {
  readonly attestor: WorkloadAttestor;
  readonly x509: X509SvidIssuer;
  readonly jwt: JwtSource | undefined;
  /** The embedded issuer's credentials, followed by the credential reloader; `undefined` in central mode. */
  readonly issuer: { readonly initial: IssuerCredentials; readonly channel: IssuerChannel } | undefined;
  /** Central mode: whether the issuer answers (a gauge and log lines, never `/ready`). */
  readonly reachable: Receiver<boolean> | undefined;
  /** Starts what re-issues the store's identities after an issuer change. */
  attach(store: SvidStore): void;
  /** Checks files now (tests). */
  reload(): Promise<void>;
  close(): void;
}

/** Both ends of the embedded issuer's channel. */
export interface IssuerChannel {
  readonly sink: { set(value: IssuerCredentials | undefined): void };
  readonly receiver: Receiver<IssuerCredentials | undefined>;
}
