/**
 * The metrics of an agent that serves no `/metrics` (`--health-addr ''`, the default): every hook
 * does nothing, so prom-client is never loaded (docs/performance.md).
 */
import type { AgentMetrics } from './metrics.js';

const nothing = (): void => undefined;

/** Hooks that record nothing; {@link AgentMetrics.render} answers an empty exposition. */
export function createMetricsOff(): AgentMetrics {
  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    render: async () => '',
    onIssued: nothing,
    onCallResult: nothing,
    onStreamsChanged: nothing,
    onAttestation: nothing,
    onTokenReview: nothing,
    limits: { onConnectionRefused: nothing, onStreamRefused: nothing, onConnectionClosed: nothing },
    observe: nothing,
    observeIssuerReachable: nothing,
  };
}
