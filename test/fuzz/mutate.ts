/**
 * Structure-aware mutators. Bytes: flips, interesting values, inserts, deletions, splices. DER: the
 * input is parsed into a tree (with our reader), elements are retagged, dropped, duplicated,
 * nested, swapped for long OIDs, huge INTEGERs or explicit FALSEs, and re-encoded with correct
 * lengths, so mutations reach past the outer structure. Text and JSON likewise.
 */
import * as der from '../../src/issuer/der.js';
import type { Rng } from './prng.js';

const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x1f, 0x30, 0x31, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xa0, 0xa3, 0xff,
];

/** One to four byte-level edits of a copy of `input`. */
export function mutateBytes(rng: Rng, input: Buffer, pool: readonly Buffer[] = []): Buffer {
  let out = Buffer.from(input);
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = out.length === 0 ? 0 : rng.int(out.length);
    switch (rng.int(8)) {
      case 0:
        if (out.length > 0) out[at] = (out[at] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        if (out.length > 0) out[at] = rng.pick(INTERESTING_BYTES);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(16)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(32)))]);
        break;
      case 4: {
        const from = rng.int(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), out.subarray(from, from + rng.int(64)), out.subarray(at)]);
        break;
      }
      case 5:
        out = out.subarray(0, at);
        break;
      case 6: {
        const other = pool.length > 0 ? rng.pick(pool) : out;
        const from = rng.int(other.length + 1);
        out = Buffer.concat([out.subarray(0, at), other.subarray(from, from + 1 + rng.int(128)), out.subarray(at)]);
        break;
      }
      default:
        if (out.length > 0) out[at] = rng.int(256);
    }
  }
  return out;
}

// === impl DER trees ===

type DerNode = { tag: number; children: DerNode[] } | { tag: number; content: Buffer };

function toTree(el: der.DerElement): DerNode {
  if (el.constructed) {
    try {
      return { tag: el.tag, children: der.childrenOf(el).map(toTree) };
    } catch {
      // Not a well-formed list of children: keep the bytes.
    }
  }
  return { tag: el.tag, content: Buffer.from(el.content) };
}

function encode(node: DerNode): Buffer {
  const tag = (node.tag & 0x1f) === 0x1f ? node.tag & 0xfe : node.tag;
  return 'children' in node ? der.tlv(tag, ...node.children.map(encode)) : der.tlv(tag, node.content);
}

function listNodes(root: DerNode): Array<{ node: DerNode; parent?: { children: DerNode[] }; index: number }> {
  const out: Array<{ node: DerNode; parent?: { children: DerNode[] }; index: number }> = [{ node: root, index: 0 }];
  for (let i = 0; i < out.length; i++) {
    const { node } = out[i] as { node: DerNode };
    if ('children' in node) {
      for (const [index, child] of node.children.entries()) out.push({ node: child, parent: node, index });
    }
  }
  return out;
}

/** An OBJECT IDENTIFIER of `length` content octets, its arcs `arcOctets` long. */
export function longOid(length: number, arcOctets = length): Buffer {
  const content = Buffer.alloc(length, 0x81);
  content[0] = 0x2a;
  for (let i = arcOctets; i < length; i += arcOctets) content[i] = 0x01;
  content[length - 1] = 0x01;
  return der.tlv(0x06, content);
}

const SPECIAL_ELEMENTS = (rng: Rng): DerNode => {
  switch (rng.int(7)) {
    case 0:
      return { tag: 0x06, content: longOid(65 + rng.int(4000), 1 + rng.int(40)).subarray(0) };
    case 1:
      return { tag: 0x01, content: Buffer.from([0x00]) };
    case 2:
      return { tag: 0x02, content: rng.bytes(1 + rng.int(600)) };
    case 3:
      return { tag: 0x03, content: Buffer.concat([Buffer.from([rng.int(9)]), rng.bytes(rng.int(100))]) };
    case 4:
      return { tag: rng.pick([0x0c, 0x13, 0x16, 0x1e, 0x1c, 0x14]), content: rng.bytes(rng.int(80)) };
    case 5:
      return {
        tag: rng.pick([0x17, 0x18]),
        content: Buffer.from(rng.pick(['991231235959Z', '20500101000000Z', '000229000000Z', '19700101000000Z'])),
      };
    default:
      return { tag: 0x05, content: Buffer.alloc(0) };
  }
};

/** One to three tree edits of a DER input, re-encoded with consistent lengths. */
export function mutateDer(rng: Rng, input: Buffer, pool: readonly Buffer[] = [], depth = 0): Buffer {
  let root: DerNode;
  try {
    root = toTree(der.decode(input));
  } catch {
    return mutateBytes(rng, input, pool);
  }
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const nodes = listNodes(root);
    const { node, parent, index } = rng.pick(nodes);
    const op = rng.int(11);
    if (op === 0) node.tag = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    else if (op === 1 && 'content' in node) {
      // Content that is itself DER (an extension value, a key) is mutated as a tree.
      node.content = depth < 3 && rng.chance(0.6) ? mutateDer(rng, node.content, pool, depth + 1) : mutateBytes(rng, node.content, pool);
    } else if (op === 2 && parent) parent.children.splice(index, 1);
    else if (op === 3 && parent) parent.children.splice(index, 0, structuredClone(node));
    else if (op === 4 && parent) parent.children.splice(index, 1, SPECIAL_ELEMENTS(rng));
    else if (op === 5 && parent) parent.children.splice(rng.int(parent.children.length + 1), 0, SPECIAL_ELEMENTS(rng));
    else if (op === 6 && parent && parent.children.length > 1) {
      const other = rng.int(parent.children.length);
      [parent.children[index], parent.children[other]] = [parent.children[other] as DerNode, node];
    } else if (op === 7 && parent) {
      let wrapped: DerNode = node;
      for (let d = 1 + rng.int(rng.chance(0.1) ? 500 : 8); d > 0; d--)
        wrapped = { tag: rng.pick([0x30, 0x31, 0xa0, 0xa3]), children: [wrapped] };
      parent.children.splice(index, 1, wrapped);
    } else if (op === 8 && parent && pool.length > 0) {
      try {
        parent.children.splice(index, 1, rng.pick(listNodes(toTree(der.decode(rng.pick(pool))))).node);
      } catch {
        // a pool entry that is not DER
      }
    } else if (op === 9 && 'content' in node) node.content = Buffer.alloc(0);
    else if (op === 10 && 'children' in node) node.children = [];
  }
  const out = encode(root);
  return rng.chance(0.1) ? mutateBytes(rng, out, pool) : out;
}

// === impl text and JSON ===

const INTERESTING_TEXT = [
  '',
  ' ',
  '\0',
  '\n',
  '\r\n',
  '\t',
  '\\',
  '"',
  "'",
  ':',
  '.',
  '..',
  '/',
  '%00',
  '\u00e9',
  '\ud800',
  '\uffff',
  '😀',
  'null',
  '-1',
  '0',
  '1e309',
  '9'.repeat(40),
  'a'.repeat(3000),
];

/** One to four character-level edits of `text`. */
export function mutateText(rng: Rng, text: string, tokens: readonly string[] = []): string {
  let out = text;
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = rng.int(out.length + 1);
    switch (rng.int(6)) {
      case 0:
        out = out.slice(0, at) + out.slice(at + 1 + rng.int(8));
        break;
      case 1:
        out = out.slice(0, at) + rng.pick([...INTERESTING_TEXT, ...tokens]) + out.slice(at);
        break;
      case 2:
        out = out.slice(0, at) + String.fromCharCode(rng.int(rng.chance(0.8) ? 128 : 0x10000)) + out.slice(at + 1);
        break;
      case 3: {
        const from = rng.int(out.length + 1);
        out = out.slice(0, at) + out.slice(from, from + rng.int(40)) + out.slice(at);
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      default:
        out = out.slice(0, at) + out.slice(at, at + 1).repeat(1 + rng.int(200)) + out.slice(at + 1);
    }
  }
  return out;
}

/** A random JSON value of limited size; now and then deeply nested. */
export function randomJson(rng: Rng, depth = 0): unknown {
  if (depth === 0 && rng.chance(0.02)) {
    let v: unknown = 1;
    for (let i = 0; i < 2000; i++) v = rng.chance(0.5) ? [v] : { a: v };
    return v;
  }
  switch (rng.int(depth > 3 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_VALUE, 1700000000, 4102444800]);
    case 3:
      return rng.pick(INTERESTING_TEXT);
    case 4:
      return mutateText(rng, 'system:serviceaccount:emojivoto:web');
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [
          rng.pick(['a', 'aud', 'sub', 'exp', 'kid', 'alg', 'user', 'extra']),
          randomJson(rng, depth + 1),
        ]),
      );
  }
}

/** One to three edits of a JSON value (a copy): a field replaced, removed, retyped or added. */
export function mutateJson(rng: Rng, value: unknown): unknown {
  const root = structuredClone(value) as unknown;
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const holders: Array<Record<string, unknown> | unknown[]> = [];
    const walk = (v: unknown): void => {
      if (v && typeof v === 'object') {
        holders.push(v as Record<string, unknown>);
        for (const child of Object.values(v)) walk(child);
      }
    };
    walk(root);
    if (holders.length === 0) return randomJson(rng);
    const holder = rng.pick(holders);
    const keys = Object.keys(holder);
    const key = keys.length > 0 && rng.chance(0.8) ? rng.pick(keys) : rng.pick(['aud', 'exp', 'user', 'username', 'extra', 'x']);
    const rec = holder as Record<string, unknown>;
    switch (rng.int(4)) {
      case 0:
        delete rec[key];
        break;
      case 1:
        rec[key] = typeof rec[key] === 'string' ? mutateText(rng, rec[key] as string) : randomJson(rng, 1);
        break;
      default:
        rec[key] = randomJson(rng, 1);
    }
  }
  return root;
}
