/**
 * The configuration of `svid-agent issuer` (docs/central-issuer.md), in the two stages of `run`'s
 * (`config-sources.ts`): raw values from the flags and the `--config` YAML file, then a readonly,
 * defaulted {@link IssuerConfig}; every problem reported at once in one {@link ConfigError}.
 */
import { defaultIssuerServerName, isDns1123Label, isDns1123Subdomain } from '../identity.js';
import type { LogLevel } from '../log.js';
import type { IssuerServerConfig } from '../server/index.js';
import {
  type ConfigInputs,
  collectRawValues,
  MAX_TIMER_MS,
  readHealthAndLog,
  readNaming,
  readSvidTimes,
  valueReader,
} from './config-sources.js';
import { ConfigError } from './exit.js';
import { isLoopbackHost, parseHostPort } from './host-port.js';
import { ISSUER_OPTIONS } from './issuer-options.js';

/** What `issuer` runs with: the server's configuration plus the log level. */
export interface IssuerConfig extends IssuerServerConfig {
  /** `--log-level`, default `info`. */
  readonly logLevel: LogLevel;
}

/** Defaults of the options that have one, as users would write them. */
export const ISSUER_DEFAULTS = {
  listen: '0.0.0.0:8080',
  trustDomain: 'cluster.local',
  tokenAudience: 'identity.l5d.io',
  agentAudience: 'svid-agent',
  agentServiceAccount: 'svid-agent/svid-agent',
  svidTtl: '24h',
  jwtTtl: '5m',
  clockSkew: '20s',
  shutdownTimeout: '5s',
  healthAddr: '',
  logLevel: 'info',
} as const;

/**
 * Builds the `issuer` configuration. Precedence, highest first: flags > config file > defaults.
 * @throws ConfigError listing every problem, one line each, each naming its key
 */
export function loadIssuerConfig(inputs: ConfigInputs): IssuerConfig {
  const problems: string[] = [];
  const values = collectRawValues(inputs, ISSUER_OPTIONS, problems);
  if (values === undefined) throw new ConfigError(problems);
  const read = valueReader<string>(values, ISSUER_OPTIONS, ISSUER_DEFAULTS, inputs.cwd, problems);
  const { raw, invalid } = values;

  const listen = read.str('listen') ?? ISSUER_DEFAULTS.listen;
  const parsedListen = parseHostPort(listen);
  if (typeof parsedListen === 'string') read.fail('listen', `"${listen}": ${parsedListen}`);
  const plaintext = raw.get('plaintext')?.value === true;
  if (plaintext && typeof parsedListen !== 'string' && !isLoopbackHost(parsedListen.host)) {
    read.fail('plaintext', `h2c is only served on a loopback address, not on ${listen} (use TLS, or --listen 127.0.0.1:<port>)`);
  }

  const { trustDomain, identityDomain } = readNaming(read, ISSUER_DEFAULTS.trustDomain);
  const trustAnchors = read.path('trustAnchors');
  const issuerDir = read.path('issuerDir');
  const jwtKey = read.path('jwtKey');
  if (!raw.has('trustAnchors') && !invalid.has('trustAnchors')) read.fail('trustAnchors', 'required (the PEM bundle of trust anchors)');
  if (!raw.has('issuerDir') && !invalid.has('issuerDir')) read.fail('issuerDir', 'required (the directory with tls.crt and tls.key)');

  const serverNameText = read.str('serverName');
  const serverName = serverNameText ?? defaultIssuerServerName(identityDomain);
  if (serverName === undefined) {
    read.fail(
      'serverName',
      `required: the identity domain "${identityDomain}" is not identity.<namespace>.<trust domain>, so no default can be made`,
    );
  } else if (!isDns1123Subdomain(serverName)) {
    read.fail('serverName', `invalid server name "${serverName}" (expected a DNS name)`);
  }

  const tokenAudience = read.str('tokenAudience') ?? ISSUER_DEFAULTS.tokenAudience;
  if (tokenAudience === '') read.fail('tokenAudience', 'must not be empty');
  const agentAudience = read.str('agentAudience') ?? ISSUER_DEFAULTS.agentAudience;
  if (agentAudience === '') read.fail('agentAudience', 'must not be empty');
  else if (agentAudience === tokenAudience) {
    read.fail('agentAudience', `must differ from ${read.show('tokenAudience')}: a workload token must never pass as an agent token`);
  }
  const accountText = read.str('agentServiceAccount') ?? ISSUER_DEFAULTS.agentServiceAccount;
  const [namespace = '', name = '', ...extra] = accountText.split('/');
  if (extra.length > 0 || !isDns1123Label(namespace) || !isDns1123Subdomain(name)) {
    read.fail('agentServiceAccount', `expected NAMESPACE/NAME, got "${accountText}"`);
  }

  const { svidTtl, clockSkew } = readSvidTimes(read);
  const jwtTtl = read.duration('jwtTtl');
  if (jwtTtl !== undefined && jwtTtl < 1000) read.fail('jwtTtl', 'must be at least 1s (JWT expiry is counted in seconds)');
  const shutdownTimeout = read.duration('shutdownTimeout');
  if (shutdownTimeout !== undefined && shutdownTimeout > MAX_TIMER_MS)
    read.fail('shutdownTimeout', 'must be at most 24d (longer waits overflow Node.js timers)');
  const { healthAddr, logLevel } = readHealthAndLog(read, ISSUER_DEFAULTS);
  const kubeconfig = read.path('kubeconfig');

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    listen,
    plaintext,
    serverName: serverName as string,
    trustDomain,
    trustAnchors: trustAnchors as string,
    issuerDir: issuerDir as string,
    jwtKey,
    jwtTtlMs: jwtTtl as number,
    identityDomain,
    svidTtlMs: svidTtl as number,
    clockSkewMs: clockSkew as number,
    kubeconfig,
    tokenAudience,
    agentAudience,
    agentServiceAccount: Object.freeze({ namespace, name }),
    healthAddr,
    shutdownTimeoutMs: shutdownTimeout as number,
    logLevel: logLevel as LogLevel,
  });
}
