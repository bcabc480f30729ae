// Loader hooks of module-recorder.ts (they run on node's loader thread, so plain JavaScript):
// every resolved module URL is appended to the record file as it is resolved.
import { appendFileSync } from 'node:fs';

let out;

export function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(out, `${resolved.url}\n`);
  return resolved;
}
