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
export { createCsr, parseCsr, type ParsedCsr } from './csr.js';
export { type RefreshPolicy, REFRESH_FRACTION, refreshIn } from './refresh.js';
export type { TokenValidator, ValidatedToken } from './token-validator.js';
