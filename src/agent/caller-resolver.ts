/**
 * Who is calling: the security header rule, the connection's tracked peer, the attestor, and the
 * peer tracker's PID-reuse re-check (docs/workload-api.md, docs/kubernetes.md). Handlers call {@link CallerResolver.resolve} first.
 */
import type { Metadata } from '@grpc/grpc-js';
import { type Attestation, type Caller, parseBearerAuthorization, type WorkloadAttestor } from '../attestor/index.js';
import { AgentError } from '../errors.js';
import { type NamingConfig, type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import type { CallerGate } from './caller-gate.js';
import type { ConnectionRegistry } from './connections.js';

export const SECURITY_HEADER = 'workload.spiffe.io';

/** The part of a grpc-js call this needs. */
export interface IncomingCall {
  readonly metadata: Metadata;
  getPeer(): string;
}

export interface ResolvedCaller {
  readonly caller: Caller;
  readonly attestation: Attestation;
  readonly identity: WorkloadIdentity;
}

/**
 * `workload.spiffe.io: true`, exactly once, exactly that value.
 * @throws AgentError `SECURITY_HEADER_MISSING`
 */
export function checkSecurityHeader(metadata: Metadata): void {
  const values = metadata.get(SECURITY_HEADER);
  if (values.length !== 1 || values[0] !== 'true') {
    throw new AgentError('SECURITY_HEADER_MISSING', 'security header missing from request');
  }
}

/** `authorization: Bearer <jwt>` from the metadata, if sent exactly once and well formed. */
export function bearerToken(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  return values.length === 1 && typeof values[0] === 'string' ? parseBearerAuthorization(values[0]) : undefined;
}

export interface CallerResolverOptions {
  readonly connections: ConnectionRegistry;
  readonly attestor: WorkloadAttestor;
  readonly naming: NamingConfig;
  /** Turns between caller groups for attestation; none (no waiting) when absent. */
  readonly gate?: CallerGate;
}

export interface CallerResolver {
  /**
   * Checks the header, finds the caller and attests it.
   * @throws AgentError `SECURITY_HEADER_MISSING`, `NO_IDENTITY` or `ATTESTATION_UNAVAILABLE`
   */
  resolve(call: IncomingCall, signal?: AbortSignal): Promise<ResolvedCaller>;
}

export function createCallerResolver(options: CallerResolverOptions): CallerResolver {
  const { connections, attestor, naming, gate } = options;
  return {
    async resolve(call, signal) {
      checkSecurityHeader(call.metadata);
      const name = call.getPeer();
      const peer = connections.lookup(name);
      if (!peer) throw new AgentError('ATTESTATION_UNAVAILABLE', 'call arrived on an unknown connection');
      const attest = async (): Promise<ResolvedCaller> => {
        const caller = await peer.caller();
        const attestation = await attestor.attest({ caller, bearerToken: bearerToken(call.metadata), signal });
        await peer.checkAlive();
        return { caller, attestation, identity: workloadIdentityFor(attestation.account, naming) };
      };
      return gate ? gate.run(connections.groupOf(name) ?? name, attest, signal) : attest();
    },
  };
}
