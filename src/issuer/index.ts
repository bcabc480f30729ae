export { createIssuerCa, createJwtSigningKey, createTrustAnchor, type GeneratedCa } from './ca.js';
export { type Certifier, type CertifierOptions, type CertifyRequest, type CertifyResult, createCertifier } from './certify.js';
export { certifyStatus, type GrpcStatus } from './certify-status.js';
export {
  ISSUER_LAYOUTS,
  type IssuerCredentials,
  type LoadOptions,
  type TrustAnchors,
  chainToAnchors,
  loadIssuer,
  loadTrustAnchors,
  validity,
} from './credentials.js';
export { type CredentialReloader, type CredentialReloaderOptions, startCredentialReloader } from './credential-reloader.js';
export { type JwtKeyReloader, type JwtKeyReloaderOptions, startJwtKeyReloader } from './jwt-key-reloader.js';
export { createCsr, parseCsr, type ParsedCsr } from './csr.js';
export { type RefreshPolicy, REFRESH_FRACTION, refreshIn } from './refresh.js';
export type { TokenValidator, ValidatedToken } from './token-validator.js';
export {
  type JwtKeySet,
  type JwtPublicKey,
  type JwtSigningAlgorithm,
  type JwtSigningKey,
  type LoadJwtKeyOptions,
  createJwtKeySet,
  jwksJson,
  jwtSigningKeyFrom,
  loadJwtSigningKey,
} from './jwt-key.js';
export {
  JWT_LEEWAY_MS,
  JWT_SVID_ALGORITHMS,
  type JwtKeyLookup,
  MAX_JWT_SVID_LENGTH,
  type MintedJwtSvid,
  mintJwtSvid,
  type ValidatedJwtSvid,
  validateJwtSvid,
} from './jwt-svid.js';
