/**
 * Stage two of the run configuration for `--issuer-addr` (docs/central-issuer.md): what goes with
 * the central issuer, what cannot, and the defaults derived from the rest of the configuration.
 */
import { resolve } from 'node:path';
import type { CentralIssuerConfig } from '../agent/index.js';
import { defaultIssuerServerName, isDns1123Subdomain } from '../identity.js';
import { isLoopbackHost, parseHostPort } from './host-port.js';
import type { RunOptionKey } from './run-options.js';

/** `--agent-token-path` default: where the agent's DaemonSet projects its own token. */
export const DEFAULT_AGENT_TOKEN_PATH = '/var/run/secrets/tokens/svid-agent-token';

/** Options that only mean something with `--issuer-addr`. */
const CENTRAL_ONLY = ['issuerServerName', 'issuerPlaintext', 'agentTokenPath'] as const;

/** Why each option cannot go with `--issuer-addr`. */
const EXCLUDED = {
  dev: 'dev mode signs with credentials of its own',
  issuerDir: 'the central issuer signs, and this agent holds no signing key',
  jwtKey: 'the central issuer mints JWT-SVIDs, and this agent holds no JWT key',
} as const;

/** What {@link buildCentralIssuer} reads of stage one and of the options already built. */
export interface CentralIssuerInput {
  /** True when the option was given (flag, environment or file), usable or not. */
  has(key: RunOptionKey): boolean;
  /** The option's string value, if given as one. */
  str(key: RunOptionKey): string | undefined;
  /** The option's boolean value, if given as one. */
  bool(key: RunOptionKey): boolean | undefined;
  /** How messages name the option: `--issuer-addr` or `agent.yaml: issuerAddr`. */
  label(key: RunOptionKey): string;
  fail(key: RunOptionKey, message: string): void;
  /** The attestor chosen (`k8s`, `unix`, or whatever was written). */
  readonly attestor: string;
  readonly identityDomain: string;
  readonly cwd: string;
}

/**
 * The central issuer's configuration, or `undefined` without `--issuer-addr`. Problems go to
 * `input.fail`, each naming the pair of options that conflict.
 */
export function buildCentralIssuer(input: CentralIssuerInput): CentralIssuerConfig | undefined {
  const { fail, label } = input;
  const address = input.str('issuerAddr');
  if (!input.has('issuerAddr')) {
    for (const key of CENTRAL_ONLY) {
      if (input.has(key) && input.bool(key) !== false) fail(key, `only means something with ${label('issuerAddr')}`);
    }
    return undefined;
  }
  for (const [key, why] of Object.entries(EXCLUDED) as Array<[keyof typeof EXCLUDED, string]>) {
    if (input.has(key) && input.bool(key) !== false) fail('issuerAddr', `cannot be combined with ${label(key)}: ${why}`);
  }
  // The unix attestor that --dev implies is already refused with --dev.
  if (input.attestor === 'unix' && input.has('attestor')) {
    fail(
      'issuerAddr',
      `cannot be combined with ${label('attestor')} unix: the issuer checks each workload's own token, and the unix attestor has none to forward (use the k8s attestor)`,
    );
  }
  if (address === undefined) return undefined;
  const parsed = address === '' ? 'must not be empty' : parseHostPort(address);
  if (typeof parsed === 'string') {
    fail('issuerAddr', address === '' ? parsed : `"${address}": ${parsed}`);
    return undefined;
  }
  const plaintext = input.bool('issuerPlaintext') ?? false;
  if (plaintext && !isLoopbackHost(parsed.host)) {
    fail(
      'issuerPlaintext',
      `only to a loopback address (localhost, 127.0.0.0/8, ::1), not ${parsed.host}: tokens would cross the network in the clear`,
    );
  }
  const serverName = input.str('issuerServerName') ?? defaultIssuerServerName(input.identityDomain);
  if (serverName === undefined) {
    fail(
      'issuerServerName',
      `required: the identity domain "${input.identityDomain}" is not identity.<control-plane namespace>.<trust domain>, so the issuer's name cannot be derived from it`,
    );
  } else if (!isDns1123Subdomain(serverName)) {
    fail('issuerServerName', `invalid TLS name "${serverName}" (expected a DNS-1123 subdomain)`);
  }
  const tokenPath = input.str('agentTokenPath') ?? DEFAULT_AGENT_TOKEN_PATH;
  if (tokenPath === '') fail('agentTokenPath', 'must not be empty');
  if (serverName === undefined || tokenPath === '') return undefined;
  return { address, serverName, plaintext, agentTokenPath: resolve(input.cwd, tokenPath) };
}
