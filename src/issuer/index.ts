export { type SkippedAnchor, type TrustAnchors, warnSkippedAnchors } from './anchor-bundle.js';
export { createIssuerCa, createJwtSigningKey, createTrustAnchor, type GeneratedCa } from './ca.js';
export { type CertificateInfo, readCertificateInfo } from './cert-info.js';
export {
  type Certifier,
  type CertifierOptions,
  type CertifyRequest,
  type CertifyResult,
  createCertifier,
  MAX_CERTIFY_IDENTITY_LENGTH,
} from './certify.js';
export { certifyStatus, type GrpcStatus } from './certify-status.js';
export { type CredentialReloader, type CredentialReloaderOptions, startCredentialReloader } from './credential-reloader.js';
export {
  chainToAnchors,
  ISSUER_LAYOUTS,
  type IssuerCredentials,
  type LoadOptions,
  loadIssuer,
  loadTrustAnchors,
} from './credentials.js';
export { createCsr, type ParsedCsr, parseCsr } from './csr.js';
export { curveNamed, type EcCurve } from './curves.js';
export { MAX_JWKS_KEYS, parseJwks } from './jwks.js';
export {
  createJwtKeySet,
  type JwtKeySet,
  type JwtPublicKey,
  type JwtSigningAlgorithm,
  type JwtSigningKey,
  jwksJson,
  jwtSigningKeyFrom,
  type LoadJwtKeyOptions,
  loadJwtSigningKey,
} from './jwt-key.js';
export { type JwtKeyReloader, type JwtKeyReloaderOptions, startJwtKeyReloader } from './jwt-key-reloader.js';
export { type JwtKeys, type JwtKeysOptions, loadJwtKeys } from './jwt-keys.js';
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
export { type KeyPairSpec, newKeyPair } from './keygen.js';
export { clampUnit, REFRESH_FRACTION, RENEWAL_JITTER, type RefreshPolicy, refreshIn, renewalDelay } from './refresh.js';
export { createRenewalKeys, type RenewalKeys, type RenewalKeysOptions, type TicketKey } from './renewal-keys.js';
export { keyFingerprint, RENEWAL_PROOF_CONTEXT, renewalProofMessage, signRenewalProof, verifyRenewalProof } from './renewal-proof.js';
export {
  encodeTicket,
  MAX_TICKET_BYTES,
  type RenewalTicket,
  type TicketProblem,
  ticketKeyFor,
  type VerifiedTicket,
  verifyTicket,
} from './renewal-ticket.js';
export { issueServerCertificate, type ServerCertificate, type ServerCertificateOptions } from './server-certificate.js';
export { loadIssuerLogged, loadStartupCredentials, type SignersOptions, startSigners, x509KeysInUse } from './startup-credentials.js';
export { generateWorkloadKey, type WorkloadKey } from './workload-key.js';
export {
  createX509SvidSigner,
  type SignedX509Svid,
  type X509SvidSigner,
  type X509SvidSignerOptions,
} from './x509-svid-signer.js';
