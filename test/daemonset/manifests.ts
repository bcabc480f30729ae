/**
 * Loads every YAML document under daemonset/ the way the API server's decoder reads it
 * (YAML 1.1, so `0400` is octal), keeping each document's leading comment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isNode, parseAllDocuments } from 'yaml';

/** One YAML document of one file. */
export interface ManifestDoc {
  /** Path relative to daemonset/, e.g. `example/deployment.yaml`. */
  readonly file: string;
  /** Position of the document in its file, from 0. */
  readonly index: number;
  readonly value: Record<string, unknown>;
  /** The comment above the document (before `apiVersion`), or '' if there is none. */
  readonly comment: string;
}

/** Every `.yaml`/`.yml` file below `dir`, sorted, as absolute paths. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/**
 * Parses every YAML file below `root`.
 *
 * @throws Error naming the file when a document has a syntax error, a warning (e.g. a duplicate
 *   key) or is not a mapping.
 */
export function loadManifests(root: string): ManifestDoc[] {
  const docs: ManifestDoc[] = [];
  for (const path of yamlFiles(root)) {
    const file = relative(root, path);
    parseAllDocuments(readFileSync(path, 'utf8'), { version: '1.1', uniqueKeys: true }).forEach((doc, index) => {
      const problems = [...doc.errors, ...doc.warnings];
      if (problems.length > 0) throw new Error(`${file} document ${index}: ${problems.map((p) => p.message).join('; ')}`);
      const value: unknown = doc.toJS();
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new Error(`${file} document ${index}: not a mapping`);
      }
      // The parser files a leading comment under the document, its top node or the first key.
      const top = doc.contents;
      const firstKey = isMap(top) ? top.items[0]?.key : undefined;
      const comment = [
        doc.commentBefore,
        isNode(top) ? top.commentBefore : undefined,
        isNode(firstKey) ? firstKey.commentBefore : undefined,
      ]
        .filter((c): c is string => typeof c === 'string' && c.trim() !== '')
        .join('\n');
      docs.push({ file, index, value: value as Record<string, unknown>, comment });
    });
  }
  return docs;
}
