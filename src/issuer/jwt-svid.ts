/**
 * JWT-SVIDs (docs/workload-api.md; JWT-SVID.md): minting with `jose`, and validating the way SPIRE's
 * `ValidateJWTSVID` does (`pkg/common/jwtsvid/validate.go`), in its order and with its messages:
 * parse the compact JWS restricted to the nine allowed algorithms, require `kid`, read `sub`
 * and `exp` unverified, find the key by (trust domain of `sub`, `kid`), verify the signature,
 * then `aud`, `nbf`, `exp`, `iat` with one minute of leeway.
 *
 * The algorithm allow-list is checked before any key is looked up, so `none` and HMAC tokens
 * (e.g. HS256 "signed" with the public key as the secret) never reach a verifier.
 */
import type { KeyObject } from 'node:crypto';
import { compactVerify } from 'jose/jws/compact/verify';
import { SignJWT } from 'jose/jwt/sign';
import { AgentError } from '../errors.js';
import { parseSpiffeId } from '../identity.js';
import { type JwtPublicKey, type JwtSigningKey, jwsAlgorithmsFor } from './jwt-key.js';

/** The JWS algorithms a JWT-SVID may use (JWT-SVID.md §3), in go-jose's order for messages. */
export const JWT_SVID_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const;

/** Leeway on `exp`, `nbf` and `iat`: go-jose's `DefaultLeeway`, one minute. */
export const JWT_LEEWAY_MS = 60_000;

/** Longest token `validateJwtSvid` reads, characters; larger ones are refused unparsed. */
export const MAX_JWT_SVID_LENGTH = 128 * 1024;

/** Options of {@link mintJwtSvid}. */
export interface MintJwtSvidOptions {
  readonly key: JwtSigningKey;
  readonly spiffeId: string;
  /** The `aud` claim, always written as an array; must not be empty. */
  readonly audience: readonly string[];
  /** Lifetime (`--jwt-ttl`), ms; whole seconds are used. */
  readonly ttlMs: number;
  /** Current time, ms since the epoch (the injected clock). */
  readonly now: number;
}

/** A minted JWT-SVID. `token` is a secret: never log it. */
export interface MintedJwtSvid {
  readonly token: string;
  readonly spiffeId: string;
  readonly kid: string;
  /** `iat`, ms since the epoch. */
  readonly issuedAt: number;
  /** `exp`, ms since the epoch. */
  readonly expiresAt: number;
}

/**
 * Signs a JWT-SVID: header `alg` (from the key), `kid`, `typ: JWT`; claims `sub`, `aud`, `iat`, `exp`.
 * @throws TypeError on an empty audience or a lifetime under one second (caller misuse)
 * @throws AgentError `SIGNING_FAILED` when signing fails
 */
export async function mintJwtSvid(options: MintJwtSvidOptions): Promise<MintedJwtSvid> {
  const { key, spiffeId, audience, now } = options;
  if (audience.length === 0) throw new TypeError('a JWT-SVID needs at least one audience');
  const ttlSeconds = Math.floor(options.ttlMs / 1000);
  if (ttlSeconds < 1) throw new TypeError('a JWT-SVID lifetime must be at least 1s');
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlSeconds;
  try {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setSubject(spiffeId)
      .setAudience([...audience])
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, spiffeId, kid: key.kid, issuedAt: iat * 1000, expiresAt: exp * 1000 };
  } catch (err) {
    throw new AgentError('SIGNING_FAILED', 'could not sign JWT-SVID', { cause: err });
  }
}

/** Where the validator finds keys: the published keys of a trust domain by `kid`. */
export interface JwtKeyLookup {
  /** The keys of `trustDomain` by `kid`, or `undefined` when the agent has no bundle for it. */
  keysFor(trustDomain: string): ReadonlyMap<string, JwtPublicKey> | undefined;
}

/** Options of {@link validateJwtSvid}. */
export interface ValidateJwtSvidOptions {
  readonly keys: JwtKeyLookup;
  /** Current time, ms since the epoch (the injected clock). */
  readonly now: number;
}

/** A valid JWT-SVID: its SPIFFE ID and every claim, `aud` always an array. */
export interface ValidatedJwtSvid {
  readonly spiffeId: string;
  readonly kid: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function rejected(message: string, cause?: unknown): AgentError {
  return new AgentError('JWT_SVID_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Go's `%q` of a string slice, as SPIRE prints audiences: `["a" "b"]`. */
function goQuoted(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

function segmentBytes(segment: string, what: string): Buffer {
  // Node's base64url decoder skips bad characters; a damaged token must be refused instead.
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw rejected(`unable to parse JWT token: ${what} is not base64url`);
  return Buffer.from(segment, 'base64url');
}

function jsonObject(bytes: Buffer, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    // No cause: V8's JSON errors quote the input, and token text must not reach the log.
    throw rejected(`unable to parse JWT token: ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw rejected(`unable to parse JWT token: ${what} is not a JSON object`);
  return value as Json;
}

/** `aud` as a list: one string or an array of strings (RFC 7519 §4.1.3); missing is empty. */
function audienceOf(claims: Json): string[] {
  const aud = claims.aud;
  if (aud === undefined) return [];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return aud as string[];
  throw rejected('token has an invalid aud claim: must be a string or an array of strings');
}

/** A NumericDate claim in ms, `undefined` when absent. */
function numericDate(claims: Json, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw rejected(`token has an invalid ${name} claim: must be a number`);
  return value * 1000;
}

/**
 * Validates a JWT-SVID for `audience`.
 * @throws AgentError `JWT_SVID_INVALID` whose message says what failed; among them SPIRE's
 *   `token header missing key id`, `token missing subject claim`, `token missing exp claim`,
 *   `no keys found for trust domain "<td>"`, `public key "<kid>" not found in trust domain "<td>"`,
 *   `token has expired`, `expected audience in ["<aud>"] (audience=[...])`, and
 *   `unable to parse JWT token: ...` for anything that is not a compact JWS with an allowed `alg`
 */
export async function validateJwtSvid(token: string, audience: string, options: ValidateJwtSvidOptions): Promise<ValidatedJwtSvid> {
  if (token.length > MAX_JWT_SVID_LENGTH) throw rejected(`unable to parse JWT token: longer than ${MAX_JWT_SVID_LENGTH} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) throw rejected('unable to parse JWT token: compact JWS format must have three parts');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = jsonObject(segmentBytes(headerPart, 'header'), 'header');
  const payloadBytes = segmentBytes(payloadPart, 'payload');
  segmentBytes(signaturePart, 'signature');

  const alg = header.alg;
  if (typeof alg !== 'string' || !(JWT_SVID_ALGORITHMS as readonly string[]).includes(alg)) {
    const shown = typeof alg === 'string' ? JSON.stringify(alg) : 'missing';
    throw rejected(`unable to parse JWT token: unexpected signature algorithm ${shown}; expected ${goQuoted(JWT_SVID_ALGORITHMS)}`);
  }
  // JWT-SVIDs define no critical extensions; go-jose refuses every `crit` as well.
  if (header.crit !== undefined) throw rejected('unable to parse JWT token: unsupported crit header');
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
    throw rejected('token header typ must be JWT or JOSE when present');
  }
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') throw rejected('token header missing key id');

  const claims = jsonObject(payloadBytes, 'payload');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw rejected('token missing subject claim');
  const exp = numericDate(claims, 'exp');
  if (exp === undefined) throw rejected('token missing exp claim');
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  const aud = audienceOf(claims);
  const id = parseSpiffeId(claims.sub);
  if (typeof id === 'string') throw rejected(`token has an invalid subject claim: ${id}`);

  const key = findKey(options.keys, id.trustDomain, kid);
  await verifySignature(token, alg, key.publicKey, kid);

  const now = options.now;
  if (!aud.includes(audience)) throw rejected(`expected audience in ${goQuoted([audience])} (audience=${goQuoted(aud)})`);
  if (nbf !== undefined && now + JWT_LEEWAY_MS < nbf) throw rejected('token not valid yet (nbf)');
  if (now - JWT_LEEWAY_MS > exp) throw rejected('token has expired');
  if (iat !== undefined && now + JWT_LEEWAY_MS < iat) throw rejected('token issued in the future (iat)');
  return { spiffeId: claims.sub, kid, claims: { ...claims, aud } };
}

function findKey(keys: JwtKeyLookup, trustDomain: string, kid: string): JwtPublicKey {
  const domainKeys = keys.keysFor(trustDomain);
  if (!domainKeys) throw rejected(`no keys found for trust domain ${JSON.stringify(trustDomain)}`);
  const key = domainKeys.get(kid);
  if (!key) throw rejected(`public key ${JSON.stringify(kid)} not found in trust domain ${JSON.stringify(trustDomain)}`);
  return key;
}

async function verifySignature(token: string, alg: string, publicKey: KeyObject, kid: string): Promise<void> {
  // An ES384 token under a P-256 key, or PS256 under an EC key, is refused with its own message.
  if (!jwsAlgorithmsFor(publicKey).includes(alg))
    throw rejected(`token algorithm ${JSON.stringify(alg)} does not match key ${JSON.stringify(kid)}`);
  try {
    await compactVerify(token, publicKey, { algorithms: [alg] });
  } catch (err) {
    throw rejected('token signature is invalid', err);
  }
}
