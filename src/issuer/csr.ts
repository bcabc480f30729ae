/**
 * PKCS#10 certificate signing requests (RFC 2986): {@link createCsr} for the agent's own
 * workloads, {@link parseCsr} for the ones Certify receives. Parsing reads only what the Certify
 * rules look at (docs/linkerd-identity.md): the subject CN, the subjectAltName names of the extensionRequest
 * attribute, the public key, and the signature, which is checked on request.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { AgentError, isAgentError } from '../errors.js';
import { canonicalSpki } from './csr-key.js';
import { ecdsaSchemeFor } from './curves.js';
import * as der from './der.js';
import { ecSpkiPoint, publicKeyFromSpki, spkiOf } from './ec-keys.js';
import { commonNameName, EMPTY_NAME, encodedOid, extension, OID } from './x509-encoding.js';

/** Options of {@link createCsr}. */
export interface CreateCsrOptions {
  /** EC P-256 (signs ecdsa-with-SHA256) or P-384 (ecdsa-with-SHA384) private key. */
  readonly privateKey: KeyObject;
  /** Subject `CN`; default: an empty subject. */
  readonly commonName?: string;
  /** dNSName SANs (ASCII), listed first; default none. */
  readonly dnsNames?: readonly string[];
  /** uniformResourceIdentifier SANs (ASCII), after the DNS names; default none. */
  readonly uris?: readonly string[];
}

/**
 * Builds a DER CSR. The SANs go in an extensionRequest attribute (PKCS#9 1.2.840.113549.1.9.14),
 * marked critical when the subject is empty (RFC 5280 §4.2.1.6); with no SANs there is no
 * attribute at all.
 * @throws TypeError for a key that is not EC P-256/P-384, or an empty or non-ASCII name
 */
export function createCsr(options: CreateCsrOptions): Buffer {
  const scheme = ecdsaSchemeFor(options.privateKey, 'csr key');
  const sans = [
    ...(options.dnsNames ?? []).map((name) => der.implicit(2, sanBytes(name, 'dns name'))),
    ...(options.uris ?? []).map((uri) => der.implicit(6, sanBytes(uri, 'uri'))),
  ];
  const subject = options.commonName === undefined ? EMPTY_NAME : commonNameName(options.commonName);
  const attributes: Buffer[] = [];
  if (sans.length > 0) {
    const san = extension(OID.subjectAltName, der.sequence(...sans), { critical: options.commonName === undefined });
    attributes.push(der.sequence(encodedOid(OID.extensionRequest), der.set(der.sequence(san))));
  }
  const info = der.sequence(
    der.integer(0),
    subject,
    spkiOf(options.privateKey, scheme.namedCurve),
    der.implicit(0, Buffer.concat(attributes), { constructed: true }),
  );
  return der.sequence(info, scheme.algorithmIdentifier, der.bitString(sign(scheme.hash, info, options.privateKey)));
}

function sanBytes(value: string, what: string): Buffer {
  if (value === '') throw new TypeError(`csr ${what} must not be empty`);
  return der.ascii(value);
}

/** A parsed CSR. Name lists keep the order of the request; duplicates are kept. */
export interface ParsedCsr {
  /** The last subject CN (Go's `pkix.Name` keeps the last one too); `undefined` when there is none. */
  readonly commonName?: string;
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  /** rfc822Name SANs. */
  readonly emails: readonly string[];
  /** iPAddress SANs: dotted IPv4, or RFC 5952 IPv6 (`2001:db8::1`). */
  readonly ipAddresses: readonly string[];
  /**
   * The encoded SubjectPublicKeyInfo, ready to copy into a leaf: an EC key on a NIST curve is
   * re-encoded with its curve named and its point uncompressed (`csr-key.ts`); others as in the
   * request.
   */
  readonly publicKeySpki: Buffer;
  readonly publicKey: KeyObject;
  /** Node's key type, e.g. `ec`, `rsa`, `ed25519`. */
  readonly publicKeyAlgorithm: NonNullable<KeyObject['asymmetricKeyType']>;
  /** For EC keys (`undefined` for others), OpenSSL's curve name: `prime256v1` (P-256), `secp384r1` (P-384), `secp521r1`. */
  readonly namedCurve?: string;
  /** Dotted OID of the signature algorithm the request names. */
  readonly signatureAlgorithm: string;
  /**
   * Proof of possession: true when the signature verifies under the request's own public key
   * with the algorithm it names (ecdsa-with-SHA256/384/512, sha256/384/512WithRSAEncryption,
   * Ed25519). An unknown algorithm, or one that does not fit the key type, gives false.
   * Never throws; the result is computed once.
   */
  verifySignature(): boolean;
}

const SIGNATURE_ALGORITHMS: ReadonlyMap<string, { keyType: string; hash: string | null }> = new Map([
  [OID.ecdsaWithSha256, { keyType: 'ec', hash: 'sha256' }],
  [OID.ecdsaWithSha384, { keyType: 'ec', hash: 'sha384' }],
  [OID.ecdsaWithSha512, { keyType: 'ec', hash: 'sha512' }],
  [OID.sha256WithRsa, { keyType: 'rsa', hash: 'sha256' }],
  [OID.sha384WithRsa, { keyType: 'rsa', hash: 'sha384' }],
  [OID.sha512WithRsa, { keyType: 'rsa', hash: 'sha512' }],
  [OID.ed25519, { keyType: 'ed25519', hash: null }],
]);

/**
 * Largest CSR {@link parseCsr} reads, in octets. A P-384 CSR with a long SPIFFE ID and DNS name is
 * under 1 KiB; the cap is checked before any parsing (issue 15: hostile callers).
 */
export const MAX_CSR_BYTES = 8 * 1024;

/**
 * Parses a DER CSR strictly (DER only, no trailing bytes, version 0, at most
 * {@link MAX_CSR_BYTES}). Does not verify the signature; call `verifySignature()`.
 * @throws AgentError `INVALID_REQUEST` "certificate signing request is larger than 8192 bytes"
 *   before parsing an oversized one, and "certificate signing request does not parse", with the
 *   reason as `cause`, for anything that is not a well-formed CSR with a public key Node reads
 * @throws AgentError `CSR_REJECTED` for an EC key with explicit curve parameters
 */
export function parseCsr(input: Uint8Array): ParsedCsr {
  if (input.length > MAX_CSR_BYTES) {
    throw new AgentError('INVALID_REQUEST', `certificate signing request is larger than ${MAX_CSR_BYTES} bytes`);
  }
  try {
    return parse(input);
  } catch (cause) {
    if (isAgentError(cause, 'CSR_REJECTED')) throw cause;
    throw new AgentError('INVALID_REQUEST', 'certificate signing request does not parse', { cause });
  }
}

function parse(input: Uint8Array): ParsedCsr {
  const [info, algorithm, signatureBits, ...extra] = der.sequenceOf(der.decode(input), 'certification request');
  if (extra.length > 0) der.malformed('certification request has extra fields');
  const infoRaw = der.expectTag(info, 0x30, 'certification request info').raw;
  const [version, subject, spki, attributes, ...more] = der.sequenceOf(info, 'certification request info');
  if (more.length > 0) der.malformed('certification request info has extra fields');
  if (der.readSmallInteger(version, 'version') !== 0) der.malformed('certification request version is not 1');
  const [algorithmId] = der.sequenceOf(algorithm, 'signature algorithm');
  const signatureAlgorithm = der.readOid(algorithmId, 'signature algorithm');
  const signature = der.readBitString(signatureBits, 'signature');
  if (signature.unusedBits !== 0) der.malformed('signature is not a whole number of octets');

  // A copy, so the result does not change if the caller reuses the request buffer (an EC key
  // made canonical is one already).
  const spkiRaw = der.expectTag(spki, 0x30, 'subject public key info').raw;
  const canonical = canonicalSpki(spkiRaw);
  const publicKeySpki = canonical === spkiRaw ? Buffer.from(spkiRaw) : canonical;
  const publicKey = publicKeyFromSpki(publicKeySpki);
  const publicKeyAlgorithm = publicKey.asymmetricKeyType;
  if (publicKeyAlgorithm === undefined) der.malformed('public key type is unknown');
  // A NIST curve is known from the SPKI's prefix, without asking OpenSSL for the key's details.
  const namedCurve = ecSpkiPoint(publicKeySpki)?.curve.openssl ?? publicKey.asymmetricKeyDetails?.namedCurve;
  const names = generalNames(sanValue(attributes));
  // Copies, so that the check later covers exactly the bytes the names were read from.
  const signed = Buffer.from(infoRaw);
  const signatureBytes = Buffer.from(signature.bytes);
  let verified: boolean | undefined;
  // Spelled out, without spreads: they cost several µs on the Certify path (docs/performance.md).
  return {
    commonName: commonNameOf(subject),
    dnsNames: names.dnsNames,
    uris: names.uris,
    emails: names.emails,
    ipAddresses: names.ipAddresses,
    publicKeySpki,
    publicKey,
    publicKeyAlgorithm,
    namedCurve,
    signatureAlgorithm,
    verifySignature() {
      verified ??= check(signatureAlgorithm, signed, publicKey, signatureBytes);
      return verified;
    },
  };
}

function check(algorithm: string, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  const scheme = SIGNATURE_ALGORITHMS.get(algorithm);
  if (!scheme || key.asymmetricKeyType !== scheme.keyType) return false;
  try {
    return verify(scheme.hash, data, key, signature);
  } catch {
    return false;
  }
}

function commonNameOf(subject: der.DerElement | undefined): string | undefined {
  let commonName: string | undefined;
  for (const rdn of der.childrenOf(der.expectTag(subject, 0x30, 'subject'))) {
    for (const attribute of der.childrenOf(der.expectTag(rdn, 0x31, 'relative distinguished name'))) {
      const [type, value] = der.sequenceOf(attribute, 'attribute type and value');
      if (der.readOid(type, 'attribute type') === OID.commonName) commonName = der.readString(value, 'common name');
    }
  }
  return commonName;
}

/** The subjectAltName extension value from the extensionRequest attribute, if any. */
function sanValue(attributes: der.DerElement | undefined): Buffer | undefined {
  // attributes is [0] IMPLICIT SET OF Attribute; some encoders leave it out when empty.
  if (attributes === undefined) return undefined;
  let extensions: der.DerElement | undefined;
  for (const attribute of der.childrenOf(der.expectTag(attributes, 0xa0, 'attributes'))) {
    const [type, values] = der.sequenceOf(attribute, 'attribute');
    const items = der.childrenOf(der.expectTag(values, 0x31, 'attribute values'));
    if (der.readOid(type, 'attribute type') !== OID.extensionRequest) continue;
    if (extensions !== undefined || items.length !== 1) der.malformed('extension request must appear once with one value');
    extensions = items[0];
  }
  if (extensions === undefined) return undefined;
  const seen = new Set<string>();
  let san: Buffer | undefined;
  for (const ext of der.sequenceOf(extensions, 'extensions')) {
    const parts = der.sequenceOf(ext, 'extension');
    const id = der.readOid(parts[0], 'extension id');
    if (parts.length === 3) der.readCriticalFlag(parts[1]);
    else if (parts.length !== 2) der.malformed('extension has the wrong number of fields');
    const value = der.readOctetString(parts[parts.length - 1], 'extension value');
    // Two SAN extensions could say different things to different parsers; refuse the request.
    if (seen.has(id)) der.malformed(`extension ${id} appears twice`);
    seen.add(id);
    if (id === OID.subjectAltName) san = value;
  }
  return san;
}

type Names = Pick<ParsedCsr, 'dnsNames' | 'uris' | 'emails' | 'ipAddresses'>;

/** The names of a GeneralNames value (RFC 5280 §4.2.1.6); other name forms are ignored, as Go does. */
function generalNames(value: Buffer | undefined): Names {
  const names = { dnsNames: [] as string[], uris: [] as string[], emails: [] as string[], ipAddresses: [] as string[] };
  if (value === undefined) return names;
  for (const name of der.sequenceOf(der.decode(value), 'subject alternative names')) {
    switch (name.tag) {
      case 0x81:
        names.emails.push(ia5(name.content, 'rfc822 name'));
        break;
      case 0x82:
        names.dnsNames.push(ia5(name.content, 'dns name'));
        break;
      case 0x86:
        names.uris.push(ia5(name.content, 'uri'));
        break;
      case 0x87:
        names.ipAddresses.push(ipAddress(name.content));
        break;
      default:
        break;
    }
  }
  return names;
}

function ia5(bytes: Buffer, what: string): string {
  if (bytes.some((b) => b > 0x7f)) der.malformed(`${what} san is not an ia5 string`);
  return bytes.toString('latin1');
}

function ipAddress(bytes: Buffer): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) der.malformed(`ip address san has ${bytes.length} octets`);
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
