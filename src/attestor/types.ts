/**
 * What attestors see and what they decide. The agent hands an attestor the caller (kernel
 * peer credentials read when the connection was accepted) and gets back the account the
 * caller proved, or a coded refusal.
 */
import type { AccountRef } from '../identity.js';

/** Kernel peer credentials (`SO_PEERCRED`), host PID namespace. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** A connected caller, as the peer tracker recorded it when its connection was accepted. */
export interface Caller {
  readonly peer: PeerCredentials;
  /**
   * Process start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot) read when the
   * connection was accepted. The peer tracker uses it to detect PID reuse.
   */
  readonly startTime: string;
  /** Opaque per-connection id, for logs. */
  readonly connectionId: string;
}

/** One attestation request. */
export interface AttestRequest {
  readonly caller: Caller;
  /** A service-account token the caller presented (`authorization: Bearer <jwt>`), if any. */
  readonly bearerToken?: string;
  readonly signal?: AbortSignal;
}

/** What an attestor proved about a caller. */
export interface Attestation {
  readonly account: AccountRef;
  /** Name of the attestor that decided (`unix`, `k8s`). */
  readonly attestor: string;
  /** The caller's pod, from its cgroup, when known. */
  readonly podUid?: string;
  /**
   * The service-account token that proved the account (k8s attestor), kept as evidence for an
   * issuer that checks it itself. Never log it.
   */
  readonly token?: string;
  /** Where `token` came from: presented on the call (`bearer`) or read from the pod (`file`). */
  readonly tokenSource?: 'bearer' | 'file';
  /**
   * The caller attested (k8s attestor), so that its evidence can be read again later from the
   * same process (`createFreshTokenReader`), never from another one that took over its pid.
   */
  readonly caller?: Caller;
}

/**
 * Decides who a caller is.
 * Throws `AgentError` with code `NO_IDENTITY` when the caller is known not to have an identity
 * (refused: not in a pod, token of another pod, ...) and `ATTESTATION_UNAVAILABLE` when it could
 * not decide (API server down, /proc unreadable); clients retry both. `CANCELLED` when the
 * request's signal aborted first (the caller went away).
 */
export interface WorkloadAttestor {
  readonly name: string;
  attest(request: AttestRequest): Promise<Attestation>;
  /**
   * Called at accept, before the connection's first call has arrived: starts what attesting this
   * peer will wait for (the Kubernetes attestor reads the pod's token and starts its review), so
   * that the call, a moment later, finds it done or in flight. Decides nothing and never rejects:
   * `attest` still does every step itself. Absent where there is nothing to wait for.
   * @param caller the caller as accepted: its pid and the start time read then
   */
  prepare?(caller: Caller): Promise<void>;
}

/**
 * How one attestation ended, for metrics. `reason` is the attestor's `reason` log field of a
 * refusal or an unavailability (a small, fixed set per attestor), `caller_gone` when the caller
 * went away first (`cancelled`), and `none` when attested.
 */
export interface AttestationOutcome {
  readonly attestor: string;
  readonly result: 'attested' | 'refused' | 'unavailable' | 'cancelled';
  readonly reason: string;
}

/** Told about every attestation outcome (metrics). Must not throw. */
export type AttestationObserver = (outcome: AttestationOutcome) => void;
