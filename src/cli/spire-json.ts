/**
 * `--output json` exactly as `spire-agent` prints it, so that scripts written for SPIRE
 * (`jq .svids[0].spiffe_id`) work unchanged. spire-agent (`pkg/common/cliprinter/internal/protojson`)
 * marshals each response with protojson `UseProtoNames` + `EmitUnpopulated`, drops `null`s,
 * re-encodes through a Go map and prints one line with Go's `encoding/json`. So:
 * - proto field names (`spiffe_id`, `x509_svid`), every field present (`"hint": ""`, `"crl": []`,
 *   `"federated_bundles": {}`); bytes as standard base64; `null`s (an unset message field, a
 *   null claim) left out;
 * - object keys sorted, compact, one line and a newline;
 * - one response prints as an object, several (`fetch jwt`: SVIDs, then bundles) as an array;
 * - `<`, `>`, `&`, U+2028 and U+2029 inside strings escaped as `\u003c` etc. (Go's HTML-safe default).
 */
import type {
  JWTBundlesResponse,
  JWTSVIDResponse,
  ProtoStruct,
  ProtoValue,
  ValidateJWTSVIDResponse,
  X509SVIDResponse,
} from './workload-client.js';

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** The text spire-agent prints for `messages`: one line and a newline. */
export function formatSpireJson(messages: readonly Json[]): string {
  const value = messages.length === 1 ? messages[0] : messages;
  return `${JSON.stringify(sortKeys(value ?? null)).replace(/[<>&\u2028\u2029]/g, goEscape)}\n`;
}

function goEscape(char: string): string {
  return `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** Keys sorted (Go marshals a map so) and `null`s dropped at every level (spire-agent's removeNulls). */
function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const object = value as { readonly [key: string]: Json };
  return Object.fromEntries(
    Object.keys(object)
      .filter((key) => object[key] !== null)
      .sort()
      .map((key) => [key, sortKeys(object[key] ?? null)]),
  );
}

const base64 = (bytes: Buffer): string => bytes.toString('base64');
const base64Map = (map: Readonly<Record<string, Buffer>>): Record<string, string> =>
  Object.fromEntries(Object.entries(map).map(([key, bytes]) => [key, base64(bytes)]));

/** `X509SVIDResponse` as protojson with proto names and every field. */
export function x509SvidResponseJson(response: X509SVIDResponse): Json {
  return {
    svids: response.svids.map((s) => ({
      spiffe_id: s.spiffe_id,
      x509_svid: base64(s.x509_svid),
      x509_svid_key: base64(s.x509_svid_key),
      bundle: base64(s.bundle),
      hint: s.hint,
    })),
    crl: response.crl.map(base64),
    federated_bundles: base64Map(response.federated_bundles),
  };
}

/** `JWTSVIDResponse` as protojson with proto names and every field. */
export function jwtSvidResponseJson(response: JWTSVIDResponse): Json {
  return { svids: response.svids.map((s) => ({ spiffe_id: s.spiffe_id, svid: s.svid, hint: s.hint })) };
}

/** `JWTBundlesResponse` as protojson: JWK Set bytes as base64, keyed by trust domain ID. */
export function jwtBundlesResponseJson(response: JWTBundlesResponse): Json {
  return { bundles: base64Map(response.bundles) };
}

/** `ValidateJWTSVIDResponse` as protojson; `claims` (a `google.protobuf.Struct`) as a plain object. */
export function validateJwtSvidResponseJson(response: ValidateJWTSVIDResponse): Json {
  return { spiffe_id: response.spiffe_id, claims: response.claims === null ? null : structToJson(response.claims) };
}

/** A decoded `google.protobuf.Value` as plain JSON. */
export function valueToJson(value: ProtoValue): Json {
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return structToJson(value.structValue ?? {});
    case 'listValue':
      return (value.listValue?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}

/** A decoded `google.protobuf.Struct` as a plain JSON object. */
export function structToJson(struct: ProtoStruct): { readonly [key: string]: Json } {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) out[key] = valueToJson(value);
  return out;
}
