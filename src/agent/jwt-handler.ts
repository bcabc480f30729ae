/**
 * The JWT methods of the Workload API (docs/workload-api.md; SPIRE `handler.go`): FetchJWTSVID,
 * FetchJWTBundles and ValidateJWTSVID. Thin like the X.509 handlers: check the request, resolve
 * the caller, mint through the {@link JwtSource} (the agent's key or the central issuer) or
 * validate against its bundle, fail through `workloadStatus`.
 *
 * Without JWT-SVIDs (no `--jwt-key`, or a central issuer without one) the three methods answer
 * UNIMPLEMENTED: the operator disabled the profile (SPIFFE Workload API §2).
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { stopWaitingOnAbort } from '../abort.js';
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import { parseSpiffeId } from '../identity.js';
import { type JwtKeyLookup, type MintedJwtSvid, validateJwtSvid } from '../issuer/index.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { type CallerResolver, checkSecurityHeader, type ResolvedCaller } from './caller-resolver.js';
import { createJwtBundleResponses, jwtKeyLookup, jwtSvidMessage, validateJwtSvidMessage } from './jwt-response.js';
import type { JwtBundle, JwtSource } from './jwt-source.js';
import { createJwtSvidCache, type JwtSvidCache } from './jwt-svid-cache.js';
import { createLatestWriter } from './latest-writer.js';
import type { StreamRegistry } from './stream-registry.js';
import { invalidUtf8Of } from './utf8-fields.js';
import type { WorkloadCalls } from './workload-calls.js';
import type { Encode } from './x509-response.js';

/** Most audiences one FetchJWTSVID may ask for. */
export const MAX_AUDIENCES = 64;
/** Longest audience, UTF-8 bytes. */
export const MAX_AUDIENCE_BYTES = 1024;
/** Longest total of a request's audiences, UTF-8 bytes; bounds the tokens the cache holds. */
export const MAX_AUDIENCES_TOTAL_BYTES = 16 * 1024;

/** Options of {@link createJwtHandlers}. */
export interface JwtHandlerOptions {
  /** Keys and minting; `undefined` disables JWT-SVIDs (the methods answer UNIMPLEMENTED). */
  readonly jwt: JwtSource | undefined;
  /** Our trust domain: the key set is its bundle. */
  readonly trustDomain: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Token reuse; default a {@link createJwtSvidCache} of 1000 entries on `clock`. */
  readonly cache?: JwtSvidCache;
  readonly resolver: CallerResolver;
  readonly streams: StreamRegistry;
  /** Encodes a response of a workload method once, for sharing between streams. */
  readonly encode: Encode;
  /** How calls end (status, log line, metrics). */
  readonly calls: WorkloadCalls;
}

/** The request messages as protos.ts decodes them; fields may be absent without `defaults: true`. */
interface JwtSvidRequest {
  readonly audience?: readonly string[];
  readonly spiffe_id?: string;
}
interface ValidateRequest {
  readonly audience?: string;
  readonly svid?: string;
}

const AUDIENCES_FIELD = 'audiences';
const KID_FIELD = 'kid';
const CACHED_FIELD = 'cached';

function badRequest(message: string): AgentError {
  return new AgentError('INVALID_REQUEST', message);
}

/**
 * Refuses a request whose audience bytes were not UTF-8 (marked as it was decoded; protobufjs
 * had replaced them with U+FFFD).
 * @throws AgentError `INVALID_REQUEST` naming the field
 */
function checkUtf8(request: unknown): void {
  const [field] = invalidUtf8Of(request);
  if (field !== undefined) throw badRequest(`${field} is not valid UTF-8`);
}

/**
 * The audiences of a FetchJWTSVID request, checked: at least one, at most {@link MAX_AUDIENCES},
 * none empty or longer than {@link MAX_AUDIENCE_BYTES}, all together at most
 * {@link MAX_AUDIENCES_TOTAL_BYTES}.
 * @throws AgentError `INVALID_REQUEST` saying which rule failed
 */
export function checkAudiences(audience: readonly string[]): readonly string[] {
  if (audience.length === 0) throw badRequest('audience must be specified');
  if (audience.length > MAX_AUDIENCES) throw badRequest(`too many audiences: at most ${MAX_AUDIENCES}`);
  let total = 0;
  for (const aud of audience) {
    const bytes = Buffer.byteLength(aud);
    if (bytes === 0) throw badRequest('audience must not contain empty values');
    if (bytes > MAX_AUDIENCE_BYTES) throw badRequest(`audience longer than ${MAX_AUDIENCE_BYTES} bytes`);
    total += bytes;
  }
  if (total > MAX_AUDIENCES_TOTAL_BYTES) throw badRequest(`audiences longer than ${MAX_AUDIENCES_TOTAL_BYTES} bytes in total`);
  return audience;
}

/**
 * The requested `spiffe_id` normalised (trust domain lower-cased), or `undefined` when empty.
 * @throws AgentError `INVALID_REQUEST` `invalid requested SPIFFE ID: <why>`
 */
export function requestedSpiffeId(spiffeId: string): string | undefined {
  if (spiffeId === '') return undefined;
  const id = parseSpiffeId(spiffeId);
  if (typeof id === 'string') throw badRequest(`invalid requested SPIFFE ID: ${id}`);
  return `spiffe://${id.trustDomain}${id.path}`;
}

/** Builds the JWT methods of the `SpiffeWorkloadAPI` implementation. */
export function createJwtHandlers(options: JwtHandlerOptions): UntypedServiceImplementation {
  const { jwt, trustDomain, clock, resolver, streams, calls } = options;
  const cache = options.cache ?? createJwtSvidCache({ clock });
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'jwt_api' });
  const lookups = new WeakMap<JwtBundle, JwtKeyLookup>();

  function source(method: string): JwtSource {
    if (!jwt) throw new AgentError('NOT_IMPLEMENTED', `${method} is disabled: the agent runs without --jwt-key`);
    return jwt;
  }

  /** The bundle in use: UNAVAILABLE until the issuer has sent one, UNIMPLEMENTED when it mints none. */
  function bundle(method: string): JwtBundle {
    const current = source(method).bundle.get();
    if (!current) throw new AgentError('ISSUER_NOT_READY', 'the jwt bundle has not come from the issuer yet');
    if (current.keys.length === 0) throw new AgentError('NOT_IMPLEMENTED', `${method} is disabled: the issuer mints no JWT-SVIDs`);
    return current;
  }

  function lookupFor(set: JwtBundle): JwtKeyLookup {
    const known = lookups.get(set);
    if (known) return known;
    const lookup = jwtKeyLookup(trustDomain, set);
    lookups.set(set, lookup);
    return lookup;
  }

  async function fetchSvid({ identity, attestation }: ResolvedCaller, audience: readonly string[]): Promise<MintedJwtSvid> {
    const from = source('FetchJWTSVID');
    const now = clock.now();
    const kid = from.signingKid();
    const fields = { [LOG_FIELD.spiffeId]: identity.spiffeId, [KID_FIELD]: kid, [AUDIENCES_FIELD]: audience.length };
    const cached = kid === undefined ? undefined : cache.get(identity.spiffeId, audience, kid);
    if (cached) {
      log.debug({ ...fields, [CACHED_FIELD]: true }, 'jwt-svid issued');
      return cached;
    }
    const minted = await from.mint({ identity, attestation, audience, now });
    cache.set(audience, minted);
    log.debug({ ...fields, [CACHED_FIELD]: false, [LOG_FIELD.notAfter]: new Date(minted.expiresAt).toISOString() }, 'jwt-svid issued');
    return minted;
  }

  const bundles = createJwtBundleResponses(options.encode, trustDomain);
  return {
    FetchJWTSVID: calls.unary<JwtSvidRequest>('FetchJWTSVID', async (call, signal) => {
      // The header rule comes first for every method (docs/workload-api.md), then SPIRE's order:
      // request fields, then attestation.
      checkSecurityHeader(call.metadata);
      source('FetchJWTSVID');
      checkUtf8(call.request);
      const audience = checkAudiences(call.request.audience ?? []);
      const requested = requestedSpiffeId(call.request.spiffe_id ?? '');
      const resolved = await resolver.resolve(call, signal);
      if (requested !== undefined && requested !== resolved.identity.spiffeId) {
        throw new AgentError('NO_IDENTITY', `caller ${resolved.identity.spiffeId} is not entitled to ${requested}`);
      }
      return jwtSvidMessage([await stopWaitingOnAbort(fetchSvid(resolved, audience), signal)]);
    }),
    FetchJWTBundles: calls.serverStreaming('FetchJWTBundles', async (call, signal) => {
      checkSecurityHeader(call.metadata);
      const { bundle: receiver } = source('FetchJWTBundles');
      bundle('FetchJWTBundles');
      await resolver.resolve(call, signal);
      const writer = createLatestWriter(call);
      // A bundle gone empty (the issuer stopped minting) is not pushed; the last one stands.
      const push = () => {
        const current = receiver.get();
        if (current && current.keys.length > 0) writer.write(bundles(current));
      };
      streams.track(call, receiver.subscribe(push));
      if (!call.cancelled) push();
    }),
    ValidateJWTSVID: calls.unary<ValidateRequest>('ValidateJWTSVID', async (call, signal) => {
      checkSecurityHeader(call.metadata);
      bundle('ValidateJWTSVID');
      checkUtf8(call.request);
      const { audience = '', svid = '' } = call.request;
      if (audience === '') throw badRequest('audience must be specified');
      if (svid === '') throw badRequest('svid must be specified');
      if (Buffer.byteLength(audience) > MAX_AUDIENCE_BYTES) throw badRequest(`audience longer than ${MAX_AUDIENCE_BYTES} bytes`);
      // Any attested caller may validate; no entitlement to the token's subject is needed.
      await resolver.resolve(call, signal);
      const result = await validateJwtSvid(svid, audience, { keys: lookupFor(bundle('ValidateJWTSVID')), now: clock.now() });
      log.debug({ [LOG_FIELD.spiffeId]: result.spiffeId, [KID_FIELD]: result.kid }, 'jwt-svid validated');
      return validateJwtSvidMessage(result.spiffeId, result.claims);
    }),
  };
}
