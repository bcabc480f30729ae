/**
 * What the `run` and `issuer` configurations share: stage 1 collects raw
 * values from the `--config` YAML file, the environment and the flags (in rising precedence);
 * stage 2 reads them through a {@link ValueReader} that records every problem with the label of
 * the value's origin (`--svid-ttl`, `NODE_NAME`, `agent.yaml: svidTtl`), so all are reported at once.
 */
import { resolve } from 'node:path';
import { parseDuration } from '../duration.js';
import { fileErrorReason } from '../errors.js';
import { defaultIdentityDomain, isDns1123Subdomain, isTrustDomain } from '../identity.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import { MAX_CONFIG_FILE_BYTES, parseRunConfigFile, type RawValue } from './config-file.js';
import { checkHostPort } from './host-port.js';
import type { RunOptionSpec } from './run-options.js';

/** Timers longer than 2^31-1 ms fire at once in Node.js; 24 days stays clear of that. */
export const MAX_TIMER_MS = 24 * 86_400_000;

/** Everything the process would read for a configuration, passed in. */
export interface ConfigInputs {
  /** What commander parsed. Unset flags are absent: commander sets no defaults. */
  readonly flags: Readonly<Record<string, RawValue | undefined>>;
  /** The environment (`process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (flags, env and file alike) are resolved against this directory. */
  readonly cwd: string;
  /**
   * Reads a file as UTF-8, refusing one that is no regular file or is larger than `maxBytes`
   * (`readRegularFileSync`); used for `--config`.
   */
  readonly readFile: (path: string, maxBytes: number) => string;
}

interface Sourced {
  readonly value: RawValue;
  /** How messages name the value's origin: `--svid-ttl`, `NODE_NAME`, `agent.yaml: svidTtl`. */
  readonly label: string;
}

/** What stage 1 found: usable raw values, and the keys that were set to something unusable. */
export interface RawValues {
  readonly raw: ReadonlyMap<string, Sourced>;
  readonly invalid: ReadonlySet<string>;
}

/**
 * Stage 1: the raw values, lowest precedence first (file, environment, flags), or `undefined`
 * when the `--config` file could not be read or parsed (then its keys say nothing).
 */
export function collectRawValues(inputs: ConfigInputs, specs: readonly RunOptionSpec[], problems: string[]): RawValues | undefined {
  const raw = new Map<string, Sourced>();
  let invalid: ReadonlySet<string> = new Set();
  const file = inputs.flags.config;
  if (typeof file === 'string') {
    const text = readConfigFile(file, inputs, problems);
    if (text === undefined) return undefined;
    const parsed = parseRunConfigFile(text, file, specs);
    problems.push(...parsed.problems);
    if (parsed.unparsable) return undefined;
    invalid = parsed.invalidKeys;
    for (const [key, value] of parsed.values) raw.set(key, { value, label: `${file}: ${key}` });
  }
  for (const spec of specs) {
    if (spec.env === undefined) continue;
    const value = inputs.env[spec.env];
    if (value !== undefined && value !== '') raw.set(spec.key, { value, label: spec.env });
  }
  for (const spec of specs) {
    const value = inputs.flags[spec.key];
    if (value !== undefined && spec.key !== 'config') raw.set(spec.key, { value, label: `--${spec.flag}` });
  }
  return { raw, invalid };
}

function readConfigFile(file: string, inputs: ConfigInputs, problems: string[]): string | undefined {
  if (file === '') {
    problems.push('--config: must not be empty');
    return undefined;
  }
  try {
    return inputs.readFile(resolve(inputs.cwd, file), MAX_CONFIG_FILE_BYTES);
  } catch (err) {
    problems.push(`--config: cannot read "${file}": ${fileErrorReason(err)}`);
    return undefined;
  }
}

/** Stage 2's view of the raw values: typed reads that record problems under the value's label. */
export interface ValueReader<K extends string = string> {
  readonly raw: RawValues['raw'];
  readonly invalid: RawValues['invalid'];
  /** How messages name `key`: where its value came from, else its flag. */
  label(key: K): string;
  fail(key: K, message: string): void;
  str(key: K): string | undefined;
  /** A path resolved against `cwd`; `''` is a problem. */
  path(key: K): string | undefined;
  /** A duration in ms, from the value or `defaults[key]`; `undefined` after a problem. */
  duration(key: K): number | undefined;
  /** `label (value)`, the value or its default as written, for messages comparing two keys. */
  show(key: K): string;
}

/** Creates the reader over stage 1's values. */
export function valueReader<K extends string>(
  values: RawValues,
  specs: readonly RunOptionSpec[],
  defaults: Readonly<Record<string, unknown>>,
  cwd: string,
  problems: string[],
): ValueReader<K> {
  const flagOf = new Map<string, string>(specs.map((o) => [o.key, o.flag]));
  const label = (key: string): string => values.raw.get(key)?.label ?? `--${flagOf.get(key)}`;
  const fail = (key: string, message: string): void => void problems.push(`${label(key)}: ${message}`);
  const str = (key: string): string | undefined => {
    const v = values.raw.get(key)?.value;
    return typeof v === 'string' ? v : undefined;
  };
  return {
    raw: values.raw,
    invalid: values.invalid,
    label,
    fail,
    str,
    path(key) {
      const v = str(key);
      if (v === '') fail(key, 'must not be empty');
      return v ? resolve(cwd, v) : undefined;
    },
    duration(key) {
      const text = str(key) ?? (defaults[key] as string);
      try {
        return parseDuration(text);
      } catch (err) {
        fail(key, (err as Error).message);
        return undefined;
      }
    },
    show: (key) => `${label(key)} (${str(key) ?? String(defaults[key])})`,
  };
}

/** `trustDomain` and `identityDomain` (default `identity.linkerd.<trust domain>`), checked. */
export function readNaming(
  read: ValueReader<'trustDomain' | 'identityDomain'>,
  defaultTrustDomain: string,
): { trustDomain: string; identityDomain: string } {
  const trustDomain = read.str('trustDomain') ?? defaultTrustDomain;
  if (!isTrustDomain(trustDomain)) {
    read.fail('trustDomain', `invalid trust domain "${trustDomain}" (lower-case letters, digits, ".", "-" and "_"; at most 255 bytes)`);
  }
  const identityDomainText = read.str('identityDomain');
  const identityDomain = identityDomainText ?? defaultIdentityDomain(trustDomain);
  if (identityDomainText !== undefined && !isDns1123Subdomain(identityDomain)) {
    read.fail(
      'identityDomain',
      `invalid identity domain "${identityDomain}" (expected a DNS-1123 subdomain, e.g. identity.linkerd.cluster.local)`,
    );
  } else if (!isDns1123Subdomain(identityDomain) && isTrustDomain(trustDomain)) {
    read.fail(
      'identityDomain',
      `the default identity domain "${identityDomain}" (identity.linkerd.<trust domain>) is not a DNS-1123 subdomain; set --identity-domain`,
    );
  }
  return { trustDomain, identityDomain };
}

/** `--svid-ttl` and `--clock-skew` in ms, checked against each other; `undefined` after a problem. */
export function readSvidTimes(read: ValueReader<'svidTtl' | 'clockSkew'>): { svidTtl: number | undefined; clockSkew: number | undefined } {
  const svidTtl = read.duration('svidTtl');
  const clockSkew = read.duration('clockSkew');
  if (svidTtl === 0) read.fail('svidTtl', 'must be longer than 0');
  if (svidTtl && clockSkew !== undefined && svidTtl <= clockSkew) read.fail('svidTtl', `must be longer than ${read.show('clockSkew')}`);
  return { svidTtl, clockSkew };
}

/** `--health-addr` and `--log-level`, checked. */
export function readHealthAndLog(
  read: ValueReader<'healthAddr' | 'logLevel'>,
  defaults: { healthAddr: string; logLevel: string },
): { healthAddr: string; logLevel: string } {
  const healthAddr = read.str('healthAddr') ?? defaults.healthAddr;
  const healthProblem = checkHostPort(healthAddr);
  if (healthProblem) read.fail('healthAddr', healthProblem);
  const logLevel = read.str('logLevel') ?? defaults.logLevel;
  if (!isLogLevel(logLevel)) read.fail('logLevel', `must be one of ${LOG_LEVELS.join(', ')}; got "${logLevel}"`);
  return { healthAddr, logLevel };
}

/** True for a `--log-level` value. */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}
