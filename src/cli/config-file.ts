/**
 * Stage one of the `run` and `issuer` configurations, file part: read the `--config` YAML file into raw,
 * type-checked values. Nothing is defaulted or cross-checked here (that is `config.ts`); every
 * problem is collected, prefixed with the file name and the key, e.g.
 * `agent.yaml: svidTtl: expected a duration string like "90s", got the number 60`.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { describeError } from '../errors.js';
import { RUN_OPTIONS, type RunOptionKind, type RunOptionSpec } from './run-options.js';

/**
 * The YAML parser, loaded when the first file is parsed: `run` without `--config` does not pay
 * the ~8 MB it costs (docs/performance.md). `require`, not `import()`, keeps this function
 * synchronous; the package is CommonJS.
 */
function yaml(): typeof Yaml {
  return createRequire(import.meta.url)('yaml') as typeof Yaml;
}

/** A raw value as read from the file, before validation. */
export type RawValue = string | boolean | readonly string[];

/** What {@link parseRunConfigFile} found. */
export interface RawConfigFile {
  /** Values of the keys that were present and had the right type, by camelCase key. */
  readonly values: ReadonlyMap<string, RawValue>;
  /** One line per problem, each starting with `<label>: `. */
  readonly problems: readonly string[];
  /** Keys that were present with a value of the wrong type: set, though not usable. */
  readonly invalidKeys: ReadonlySet<string>;
  /** True when the file as a whole did not parse (bad YAML, not a mapping): no key was read. */
  readonly unparsable: boolean;
}

/** Keys a config file may hold: every option of the command except `config` itself. */
function fileOptions(specs: readonly RunOptionSpec[]): ReadonlyMap<string, RunOptionSpec> {
  return new Map(specs.filter((o) => o.key !== 'config').map((o) => [o.key, o]));
}

/** Largest config file read, in characters; the annotated reference config is ~5 KiB. */
export const MAX_CONFIG_FILE_CHARS = 64 * 1024;

/** Largest config file read, in bytes: {@link MAX_CONFIG_FILE_CHARS} characters of up to 4 UTF-8 bytes each. */
export const MAX_CONFIG_FILE_BYTES = 4 * MAX_CONFIG_FILE_CHARS;

/**
 * Deepest nesting of flow collections (`[`, `{`) accepted. Options are scalars or lists of
 * strings; the YAML parser runs out of stack, or of memory, on thousands of levels (issue 15).
 */
export const MAX_CONFIG_FLOW_DEPTH = 32;

/** The deepest `[`/`{` nesting of `text`, outside quoted scalars and comments. */
function flowDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol;
    } else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth--;
    else if (c === '\n' && depth <= 0) depth = 0;
  }
  return deepest;
}

/**
 * Parses a config file's text.
 * @param label how problems name the file, usually the path as the user gave it
 * @param specs the options of the command (`run`'s by default)
 */
export function parseRunConfigFile(text: string, label: string, specs: readonly RunOptionSpec[] = RUN_OPTIONS): RawConfigFile {
  const options = fileOptions(specs);
  const problems: string[] = [];
  const values = new Map<string, RawValue>();
  const invalidKeys = new Set<string>();
  const unparsable = (lines: string[]): RawConfigFile => ({ values, problems: lines, invalidKeys, unparsable: true });
  if (text.length > MAX_CONFIG_FILE_CHARS) return unparsable([`${label}: larger than ${MAX_CONFIG_FILE_CHARS} characters`]);
  if (flowDepth(text) > MAX_CONFIG_FLOW_DEPTH) {
    return unparsable([`${label}: collections nested deeper than ${MAX_CONFIG_FLOW_DEPTH} levels`]);
  }
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  // logLevel 'error': the parser would print warnings (e.g. about mapping keys) on stderr.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter: lines, logLevel: 'error' });
  if (doc.errors.length > 0) {
    return unparsable(
      doc.errors.map((err) => {
        const at = lines.linePos(err.pos[0]);
        return `${label}: invalid YAML at line ${at.line}, column ${at.col}: ${err.message}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases and alias bombs only surface when the document is converted.
    return unparsable([`${label}: invalid YAML: ${describeError(err)}`]);
  }
  if (data === null || data === undefined) return { values, problems, invalidKeys, unparsable: false };
  if (!isPlainObject(data)) return unparsable([`${label}: expected a mapping of options at the top level, got ${describeValue(data)}`]);
  for (const [key, value] of Object.entries(data)) {
    const spec = options.get(key);
    if (!spec) {
      problems.push(`${label}: ${key}: unknown key${suggestKey(key, options)}`);
      continue;
    }
    const checked = checkType(value, spec.kind);
    if (typeof checked === 'string') {
      problems.push(`${label}: ${key}${checked}`);
      invalidKeys.add(key);
    } else values.set(key, checked.value);
  }
  return { values, problems, invalidKeys, unparsable: false };
}

/** Either the typed value, or an error suffix (`: expected ...` or `[2]: expected ...`). */
function checkType(value: unknown, kind: RunOptionKind): { value: RawValue } | string {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? { value } : `: expected true or false, got ${describeValue(value)}`;
    case 'string':
    case 'duration': {
      if (typeof value === 'string') return { value };
      const want = kind === 'duration' ? 'a duration string like "90s"' : 'a string';
      const hint = typeof value === 'number' || typeof value === 'boolean' ? ` (quote it: "${String(value)}")` : '';
      const empty = value === null ? ' (write "" for an empty value)' : '';
      return `: expected ${want}, got ${describeValue(value)}${hint}${empty}`;
    }
    case 'count':
      if (typeof value === 'number' && Number.isInteger(value)) return { value: String(value) };
      if (typeof value === 'string') return { value };
      return `: expected a whole number, got ${describeValue(value)}`;
    case 'list': {
      if (!Array.isArray(value)) {
        const hint = typeof value === 'string' ? ` (write [${JSON.stringify(value)}])` : '';
        return `: expected a list of strings, got ${describeValue(value)}${hint}`;
      }
      const items: unknown[] = value;
      for (const [i, item] of items.entries()) {
        if (typeof item !== 'string') return `[${i}]: expected a string, got ${describeValue(item)}`;
      }
      return { value: items as string[] };
    }
  }
}

/** Names the type of a YAML value for a message, without echoing long or secret content. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'no value';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** `trust-domain` or `trust_domain` written where `trustDomain` was meant. */
function suggestKey(key: string, options: ReadonlyMap<string, RunOptionSpec>): string {
  const camel = key.toLowerCase().replace(/[-_]+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  if (camel !== key && options.has(camel)) return ` (did you mean ${camel}?)`;
  const lower = key.toLowerCase();
  for (const known of options.keys()) {
    if (known.toLowerCase() === lower) return ` (did you mean ${known}?)`;
  }
  // RunConfig's own names (`tokenPaths`, `svidTtlMs`) are easy to write by mistake.
  for (const near of [key.replace(/Ms$/, ''), key.replace(/s$/, '')]) {
    if (near !== key && options.has(near)) return ` (did you mean ${near}?)`;
  }
  if (key === 'config') return ' (a config file cannot name another one)';
  return '';
}
