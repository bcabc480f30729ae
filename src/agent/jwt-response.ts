/**
 * Pure builders for the JWT Workload API responses (docs/workload-api.md): JWT-SVID lists, JWT bundles
 * encoded once per key set and shared by every stream, the key lookup ValidateJWTSVID uses, and
 * claims as a `google.protobuf.Struct` in the shape protos.ts encodes.
 */
import { AgentError } from '../errors.js';
import { trustDomainId } from '../identity.js';
import { type JwtKeyLookup, type JwtKeySet, type JwtPublicKey, jwksJson, type MintedJwtSvid } from '../issuer/index.js';
import type { Encode } from './x509-response.js';

/** `google.protobuf.Value` as protos.ts takes it: exactly one kind set. */
export type StructValue =
  | { readonly nullValue: 'NULL_VALUE' }
  | { readonly numberValue: number }
  | { readonly stringValue: string }
  | { readonly boolValue: boolean }
  | { readonly structValue: Struct }
  | { readonly listValue: { readonly values: readonly StructValue[] } };

/** `google.protobuf.Struct` as protos.ts takes it. */
export interface Struct {
  readonly fields: Readonly<Record<string, StructValue>>;
}

/** Deepest nesting of claims converted; deeper is refused rather than risking the stack. */
const MAX_CLAIM_DEPTH = 32;

function toValue(value: unknown, depth: number): StructValue {
  if (depth > MAX_CLAIM_DEPTH) throw new AgentError('JWT_SVID_INVALID', 'token claims are nested too deeply');
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map((v) => toValue(v, depth + 1)) } };
  if (typeof value === 'object') return { structValue: toStruct(value as Record<string, unknown>, depth + 1) };
  return { stringValue: String(value) };
}

function toStruct(object: Readonly<Record<string, unknown>>, depth: number): Struct {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(object)) fields[k] = toValue(v, depth);
  return { fields };
}

/**
 * JSON claims as a Struct. Numbers become doubles, as SPIRE's conversion through JSON does.
 * @throws AgentError `JWT_SVID_INVALID` when the claims nest deeper than 32 levels
 */
export function claimsToStruct(claims: Readonly<Record<string, unknown>>): Struct {
  return toStruct(claims, 0);
}

/** The `JWTSVIDResponse` message for minted tokens (the default identity first). */
export function jwtSvidMessage(svids: readonly MintedJwtSvid[]): unknown {
  return { svids: svids.map((s) => ({ spiffe_id: s.spiffeId, svid: s.token, hint: '' })) };
}

/** The `ValidateJWTSVIDResponse` message. */
export function validateJwtSvidMessage(spiffeId: string, claims: Readonly<Record<string, unknown>>): unknown {
  return { spiffe_id: spiffeId, claims: claimsToStruct(claims) };
}

/** The `JWTBundlesResponse` message: the trust domain's JWK Set, keyed `spiffe://<td>`. */
export function jwtBundlesMessage(trustDomain: string, set: Pick<JwtKeySet, 'keys'>): unknown {
  return { bundles: { [trustDomainId(trustDomain)]: Buffer.from(jwksJson(set.keys)) } };
}

/**
 * Encodes `JWTBundlesResponse`s once per key set. A new set with the same published keys (a
 * reload of an unchanged file) returns the previous `Buffer`, which the stream writers skip as
 * already sent, so streams are re-sent only when the keys really change.
 */
export function createJwtBundleResponses(encode: Encode, trustDomain: string): (set: Pick<JwtKeySet, 'keys'>) => Buffer {
  const bySet = new WeakMap<Pick<JwtKeySet, 'keys'>, Buffer>();
  let last: { json: string; bytes: Buffer } | undefined;
  return (set) => {
    const hit = bySet.get(set);
    if (hit) return hit;
    const json = jwksJson(set.keys);
    const bytes = last?.json === json ? last.bytes : encode('FetchJWTBundles', jwtBundlesMessage(trustDomain, set));
    last = { json, bytes };
    bySet.set(set, bytes);
    return bytes;
  };
}

/** The validator's key lookup for our trust domain: every published key of `set` by `kid`. */
export function jwtKeyLookup(trustDomain: string, set: Pick<JwtKeySet, 'keys'>): JwtKeyLookup {
  const byKid = new Map<string, JwtPublicKey>(set.keys.map((k) => [k.kid, k]));
  return { keysFor: (td) => (td === trustDomain ? byKid : undefined) };
}
