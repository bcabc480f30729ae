/**
 * Strict UTF-8 for request strings that end up in what the agent signs. protobufjs decodes a
 * `string` field leniently: invalid bytes become U+FFFD before a handler sees them, so a JWT-SVID
 * would be minted for an audience the client never sent (issue 15). The request deserializer
 * therefore looks at the raw bytes of those fields first, with a fatal UTF-8 decoder, and marks
 * the decoded request; the handler refuses it with INVALID_ARGUMENT (a throwing deserializer
 * would make grpc-js answer INTERNAL).
 */

/** Set on a decoded request (to the names of the offending fields) when a checked field is not UTF-8. */
export const INVALID_UTF8 = Symbol('invalid UTF-8 fields');

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const strict = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A varint at `at`: its value and the offset after it; `undefined` when truncated or over 2^53. */
function varint(buf: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 8; i++) {
    const byte = buf[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: i + 1 };
    scale *= 128;
  }
  return undefined;
}

/**
 * The top-level fields among `fields` (number → name) whose bytes are not valid UTF-8, in the
 * order met. A message this cannot walk (truncated, groups, huge lengths) yields none: protobufjs
 * then decides, and refuses it as it always did.
 */
export function invalidUtf8Fields(message: Uint8Array, fields: ReadonlyMap<number, string>): string[] {
  const bad = new Set<string>();
  let at = 0;
  while (at < message.length) {
    const tag = varint(message, at);
    if (!tag) return [];
    at = tag.next;
    const wire = tag.value % 8;
    const field = Math.floor(tag.value / 8);
    if (wire === WIRE_VARINT) {
      const skipped = varint(message, at);
      if (!skipped) return [];
      at = skipped.next;
    } else if (wire === WIRE_FIXED64) at += 8;
    else if (wire === WIRE_FIXED32) at += 4;
    else if (wire === WIRE_LENGTH_DELIMITED) {
      const length = varint(message, at);
      if (!length || length.next + length.value > message.length) return [];
      const name = fields.get(field);
      if (name !== undefined && !isUtf8(message.subarray(length.next, length.next + length.value))) bad.add(name);
      at = length.next + length.value;
    } else return [];
  }
  return at === message.length ? [...bad] : [];
}

/**
 * Wraps a request deserializer: the decoded request carries {@link INVALID_UTF8} when one of
 * `fields` is not valid UTF-8.
 */
export function markingInvalidUtf8<T>(decode: (buf: Buffer) => T, fields: ReadonlyMap<number, string>): (buf: Buffer) => T {
  return (buf) => {
    const decoded = decode(buf);
    const bad = invalidUtf8Fields(buf, fields);
    if (bad.length > 0 && typeof decoded === 'object' && decoded !== null) {
      Object.defineProperty(decoded, INVALID_UTF8, { value: bad, enumerable: false });
    }
    return decoded;
  };
}

/** The fields {@link markingInvalidUtf8} found not to be UTF-8 in `request`, if any. */
export function invalidUtf8Of(request: unknown): readonly string[] {
  if (typeof request !== 'object' || request === null) return [];
  const bad = (request as { [INVALID_UTF8]?: unknown })[INVALID_UTF8];
  return Array.isArray(bad) ? (bad as string[]) : [];
}
