/**
 * The configuration of `svid-agent run` (docs/configuration.md), in two stages:
 * 1. collect raw values from the flags, the environment and the `--config` YAML file;
 * 2. validate them and build a readonly, defaulted {@link RunConfig}.
 * Every problem of both stages is collected and reported at once in one {@link ConfigError}.
 */

import { isAbsolute, join, resolve } from 'node:path';
import { isDns1123Subdomain } from '../identity.js';
import type { LogLevel } from '../log.js';
import { buildCentralIssuer } from './central-issuer-config.js';
import type { RawValue } from './config-file.js';
import {
  collectRawValues,
  MAX_TIMER_MS,
  type RawValues,
  readHealthAndLog,
  readNaming,
  readSvidTimes,
  valueReader,
} from './config-sources.js';
import { DEV_DIR_NAME, DEV_SOCKET_NAME, devCredentialPaths } from './credential-layout.js';
import { ConfigError } from './exit.js';
import type { AttestorKind, RunConfig } from './run-config.js';
import { RUN_OPTIONS, type RunFlags, type RunOptionKey } from './run-options.js';
import { DEFAULT_SOCKET, parseSocketOption } from './socket-address.js';

export { RUN_FLAGS, type RunFlags } from './run-options.js';

/** Inputs of {@link loadRunConfig}; everything the process would read is passed in. */
export interface LoadRunConfigOptions {
  /** What commander parsed for `run`. Unset flags are absent: commander sets no defaults. */
  readonly flags: RunFlags;
  /** The environment (`process.env`); read for `SVID_AGENT_SOCKET` and `NODE_NAME`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (flags, env and file alike) are resolved against this directory. */
  readonly cwd: string;
  /**
   * Reads a file as UTF-8, refusing one that is no regular file or is larger than `maxBytes`
   * (`readRegularFileSync`); used for `--config`.
   */
  readonly readFile: (path: string, maxBytes: number) => string;
}

/** Defaults of the options that have one (docs/configuration.md), as users would write them. */
export const RUN_DEFAULTS = {
  socket: DEFAULT_SOCKET,
  trustDomain: 'cluster.local',
  attestor: 'k8s',
  procRoot: '/proc',
  tokenPath: ['/var/run/secrets/tokens/linkerd-identity-token'],
  tokenAudience: 'identity.l5d.io',
  // identityDomain has no fixed default: it follows the trust domain, identity.linkerd.<trustDomain>
  // (`defaultIdentityDomain`), as Linkerd's names do; an explicit value wins.
  svidTtl: '24h',
  jwtTtl: '5m',
  clockSkew: '20s',
  minRefresh: '10s',
  maxRefresh: '24h',
  svidIdleTtl: '60s',
  maxConnections: 1024,
  maxCallerConnections: 128,
  maxStreams: 4096,
  maxCallerStreams: 1024,
  shutdownTimeout: '5s',
  healthAddr: '',
  logLevel: 'info',
} as const;

/** Largest value of a count option (connections, streams). */
const MAX_COUNT = 1_000_000;

/**
 * Builds the `run` configuration. Precedence, highest first: **flags > environment > config
 * file > defaults** (docs/configuration.md puts flags over the file and the file over defaults; env sits
 * between flags and file so a DaemonSet's `NODE_NAME` from the downward API beats a shared file
 * but an explicit flag still wins). An empty environment variable counts as unset.
 *
 * Config-file keys are the flag names in camelCase; `tokenPath` is a list of strings, mirroring
 * the repeatable `--token-path`. Relative paths are resolved against `cwd`.
 *
 * With `dev`, the socket defaults to `<cwd>/.svid-agent/agent.sock`, the attestor to `unix`, and
 * `trustAnchors`/`issuerDir`/`jwtKey` are the dev credential paths under `devDir` (setting them
 * yourself is an error: dev mode makes its own, see `ensureDevCredentials`).
 *
 * @throws ConfigError listing every problem, one line each, each naming its key
 */
export function loadRunConfig(options: LoadRunConfigOptions): RunConfig {
  const problems: string[] = [];
  const stage1 = collectRawValues(options, RUN_OPTIONS, problems);
  // A file that cannot be read or parsed says nothing about its keys: reporting them as
  // missing as well would only bury the one real problem.
  if (stage1 === undefined) throw new ConfigError(problems);
  const config = buildRunConfig(stage1, options.cwd, problems);
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return config;
}

// === stage 2: validate and build ===

function buildRunConfig(values: RawValues, cwd: string, problems: string[]): RunConfig | undefined {
  const read = valueReader<RunOptionKey>(values, RUN_OPTIONS, RUN_DEFAULTS, cwd, problems);
  const { raw, invalid } = values;
  const { fail, str, path, duration, show } = read;
  /** A whole number from 1 to {@link MAX_COUNT}. */
  const count = (key: RunOptionKey & keyof typeof RUN_DEFAULTS): number | undefined => {
    const text = str(key);
    if (text === undefined) return RUN_DEFAULTS[key] as number;
    const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!(n >= 1 && n <= MAX_COUNT)) {
      fail(key, `must be a whole number from 1 to ${MAX_COUNT}, got "${text}"`);
      return undefined;
    }
    return n;
  };
  const dev = raw.get('dev')?.value === true;
  const devDir = resolve(cwd, DEV_DIR_NAME);

  let socket = dev ? join(devDir, DEV_SOCKET_NAME) : RUN_DEFAULTS.socket;
  const socketText = str('socket');
  if (socketText !== undefined) {
    const parsed = parseSocketOption(socketText, cwd);
    if (typeof parsed === 'string') fail('socket', parsed);
    else socket = parsed.path;
  }

  const { trustDomain, identityDomain } = readNaming(read, RUN_DEFAULTS.trustDomain);

  let trustAnchors: string | undefined;
  let issuerDir: string | undefined;
  let jwtKey: string | undefined;
  if (dev) {
    for (const key of ['trustAnchors', 'issuerDir', 'jwtKey'] as const) {
      if (raw.has(key)) fail(key, `cannot be combined with --dev, which makes its own credentials in ${devDir}`);
    }
    ({ trustAnchors, issuerDir, jwtKey } = devCredentialPaths(devDir));
  } else {
    trustAnchors = path('trustAnchors');
    issuerDir = path('issuerDir');
    jwtKey = path('jwtKey');
    // A key set to something unusable is reported as such, not also as missing.
    const missing = (key: RunOptionKey): boolean => !raw.has(key) && !invalid.has(key) && !invalid.has('dev');
    if (missing('trustAnchors'))
      fail('trustAnchors', 'required unless --dev (the PEM bundle of trust anchors; trustAnchors in a config file)');
    if (missing('issuerDir') && !raw.has('issuerAddr'))
      fail('issuerDir', 'required unless --dev or --issuer-addr (the directory with tls.crt and tls.key; issuerDir in a config file)');
  }

  const attestor = str('attestor') ?? (dev ? 'unix' : RUN_DEFAULTS.attestor);
  if (attestor !== 'k8s' && attestor !== 'unix') fail('attestor', `must be k8s or unix, got "${attestor}"`);

  const kubeconfig = path('kubeconfig');
  const nodeName = str('nodeName');
  if (nodeName !== undefined && !isDns1123Subdomain(nodeName)) {
    fail('nodeName', `invalid node name "${nodeName}" (expected a DNS-1123 subdomain, as Kubernetes node names are)`);
  }
  if (attestor === 'k8s' && nodeName === undefined && !['nodeName', 'attestor', 'dev'].some((k) => invalid.has(k))) {
    fail(
      'nodeName',
      'required with the k8s attestor, which checks that tokens were issued for this node (set --node-name, NODE_NAME from the downward API, or nodeName in a config file)',
    );
  }

  const procRoot = path('procRoot') ?? RUN_DEFAULTS.procRoot;
  const tokenPaths = buildTokenPaths(raw.get('tokenPath')?.value, (m) => fail('tokenPath', m));
  const tokenAudience = str('tokenAudience') ?? RUN_DEFAULTS.tokenAudience;
  if (tokenAudience === '') fail('tokenAudience', 'must not be empty');
  const centralIssuer = buildCentralIssuer({
    has: (key) => raw.has(key) || invalid.has(key),
    str,
    bool: (key) => {
      const v = raw.get(key)?.value;
      return typeof v === 'boolean' ? v : undefined;
    },
    label: read.label,
    fail,
    attestor,
    identityDomain,
    cwd,
  });

  const { svidTtl, clockSkew } = readSvidTimes(read);
  const jwtTtl = duration('jwtTtl');
  const minRefresh = duration('minRefresh');
  const maxRefresh = duration('maxRefresh');
  const shutdownTimeout = duration('shutdownTimeout');
  const svidIdleTtl = duration('svidIdleTtl');
  const maxConnections = count('maxConnections');
  const maxCallerConnections = count('maxCallerConnections');
  const maxStreams = count('maxStreams');
  const maxCallerStreams = count('maxCallerStreams');
  if (jwtTtl !== undefined && jwtTtl < 1000) fail('jwtTtl', 'must be at least 1s (JWT expiry is counted in seconds)');
  if (minRefresh === 0) fail('minRefresh', 'must be longer than 0');
  for (const key of ['minRefresh', 'maxRefresh', 'shutdownTimeout'] as const) {
    const ms = { minRefresh, maxRefresh, shutdownTimeout }[key];
    if (ms !== undefined && ms > MAX_TIMER_MS) fail(key, 'must be at most 24d (longer waits overflow Node.js timers)');
  }
  if (minRefresh !== undefined && maxRefresh !== undefined && minRefresh > maxRefresh) {
    fail('minRefresh', `must not be longer than ${show('maxRefresh')}`);
  }
  if (svidTtl && minRefresh && minRefresh >= svidTtl) {
    fail('minRefresh', `must be shorter than ${show('svidTtl')}, or SVIDs would expire before they are rotated`);
  }

  const { healthAddr, logLevel } = readHealthAndLog(read, RUN_DEFAULTS);

  if (problems.length > 0) return undefined;
  return Object.freeze({
    dev,
    devDir,
    socket,
    trustDomain,
    trustAnchors: trustAnchors as string,
    issuerDir,
    jwtKey,
    attestor: attestor as AttestorKind,
    kubeconfig,
    nodeName,
    procRoot,
    tokenPaths,
    tokenAudience,
    identityDomain,
    svidTtlMs: svidTtl as number,
    jwtTtlMs: jwtTtl as number,
    clockSkewMs: clockSkew as number,
    minRefreshMs: minRefresh as number,
    maxRefreshMs: maxRefresh as number,
    svidIdleTtlMs: svidIdleTtl as number,
    maxConnections: maxConnections as number,
    maxCallerConnections: maxCallerConnections as number,
    maxStreams: maxStreams as number,
    maxCallerStreams: maxCallerStreams as number,
    shutdownTimeoutMs: shutdownTimeout as number,
    centralIssuer,
    healthAddr,
    logLevel: logLevel as LogLevel,
  });
}

/** Token paths are read inside the caller's root (`/proc/<pid>/root/<path>`), so they must be absolute. */
function buildTokenPaths(value: RawValue | undefined, fail: (message: string) => void): readonly string[] {
  if (value === undefined) return RUN_DEFAULTS.tokenPath;
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as readonly string[]) : [];
  if (list.length === 0) fail('must name at least one path');
  for (const p of list) {
    if (!isAbsolute(p)) fail(`"${p}" is not an absolute path (token paths are read inside the pod's root)`);
  }
  return Object.freeze([...new Set(list)]);
}
