/**
 * Just enough of the Dockerfile and .dockerignore formats to check the image build without a
 * Docker engine: instructions by stage, and whether a build-context path is ignored.
 */

/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  readonly args: string;
  /** Index of the build stage (FROM) it belongs to; -1 before the first FROM. */
  readonly stage: number;
}

/** Parses Dockerfile text into instructions, skipping comments and parser directives. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const space = full.search(/\s/);
    const keyword = (space < 0 ? full : full.slice(0, space)).toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: space < 0 ? '' : full.slice(space + 1).trim(), stage });
  }
  return out;
}

/** Turns a .dockerignore pattern into a RegExp over slash-separated context paths. */
function patternToRegExp(pattern: string): RegExp {
  let re = '';
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p.charAt(i);
    if (c === '*' && p.charAt(i + 1) === '*') {
      re += '.*';
      i++;
      if (p.charAt(i + 1) === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern that names a directory excludes everything below it too.
  return new RegExp(`^${re}(/.*)?$`);
}

/**
 * Whether `path` (relative to the build context) is left out of the context by the
 * .dockerignore `text`. Later patterns win; `!pattern` re-includes.
 */
export function isDockerIgnored(text: string, path: string): boolean {
  let ignored = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (patternToRegExp(negate ? line.slice(1) : line).test(path)) ignored = !negate;
  }
  return ignored;
}
