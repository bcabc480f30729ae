/**
 * SPIRE users' habits on our command line. `spire-agent` parses flags with Go's `flag` package:
 * one or two dashes, camelCase names, `-name value` or `-name=value` (`cmd/spire-agent/cli/api`,
 * `cmd/spire-agent/cli/common`). Commander cannot declare `-socketPath`, so the known SPIRE names
 * are rewritten to ours before commander parses argv; and an unknown flag that differs from a
 * known one only in case or dashes gets a "did you mean".
 */
import type { Command } from 'commander';

/** SPIRE's flag names (as `spire-agent` spells them) and the long flag each stands for here. */
export const SPIRE_FLAG_ALIASES: Readonly<Record<string, string>> = {
  socketPath: 'socket',
  write: 'write',
  silent: 'silent',
  audience: 'audience',
  spiffeID: 'spiffe-id',
  svid: 'svid',
  output: 'output',
  // `spire-agent api fetch jwt -format`, SPIRE's deprecated spelling of -output.
  format: 'output',
  timeout: 'timeout',
  config: 'config',
  shallow: 'shallow',
  verbose: 'verbose',
  version: 'version',
  help: 'help',
};

/**
 * Rewrites SPIRE spellings (`-socketPath x`, `--socketPath=x`, `-write`) to ours (`--socket x`).
 * Values are never rewritten: the token after a flag that takes one is copied as is; nothing
 * after `--` is touched.
 * @param takesValue whether the long flag (no dashes) takes a value, e.g. `socket` → true
 */
export function rewriteSpireFlags(argv: readonly string[], takesValue: (long: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--?([A-Za-z][A-Za-z0-9]+)(=.*)?$/s.exec(arg);
    const name = m?.[1];
    const long = name !== undefined && Object.hasOwn(SPIRE_FLAG_ALIASES, name) ? SPIRE_FLAG_ALIASES[name] : undefined;
    if (long === undefined) {
      out.push(arg);
      const own = /^--([^=]+)$/.exec(arg)?.[1];
      if (own !== undefined && takesValue(own) && i + 1 < argv.length) out.push(argv[++i] as string);
      continue;
    }
    const value = m?.[2];
    out.push(`--${long}${value ?? ''}`);
    if (value === undefined && takesValue(long) && i + 1 < argv.length) out.push(argv[++i] as string);
  }
  return out;
}

/** Every long flag (no dashes) of `program` and its subcommands that takes a value. */
export function valueFlags(program: Command): Set<string> {
  const names = new Set<string>();
  const visit = (command: Command) => {
    for (const option of command.options) {
      if ((option.required || option.optional) && option.long) names.add(option.long.slice(2));
    }
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
  return names;
}

/** `socket-path`, `--Socket_Path` and `socketPath` all become `socketpath`. */
const normalize = (flag: string): string => flag.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();

/**
 * The flag `flag` was probably meant to be: one of `longs` (no dashes) or a SPIRE alias of one,
 * equal to it but for case, dashes and underscores; `undefined` when there is none.
 */
export function suggestFlag(flag: string, longs: readonly string[]): string | undefined {
  const wanted = normalize(flag.split('=')[0] ?? flag);
  for (const long of longs) if (normalize(long) === wanted) return `--${long}`;
  for (const [alias, long] of Object.entries(SPIRE_FLAG_ALIASES)) {
    if (normalize(alias) === wanted && longs.includes(long)) return `--${long}`;
  }
  return undefined;
}

/**
 * Adds a "did you mean" to commander's "unknown option" errors where commander has none, for
 * `command` and every subcommand. Call after all options are declared.
 */
export function addFlagSuggestions(command: Command): void {
  const longs = command.options.flatMap((o) => (o.long ? [o.long.slice(2)] : []));
  command.configureOutput({
    outputError: (text, write) => {
      const flag = /^error: unknown option '([^']+)'\n$/.exec(text)?.[1];
      const suggestion = flag === undefined ? undefined : suggestFlag(flag, [...longs, 'help']);
      write(suggestion === undefined ? text : `${text}(Did you mean ${suggestion}?)\n`);
    },
  });
  for (const sub of command.commands) addFlagSuggestions(sub);
}
