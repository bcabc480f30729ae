/**
 * The parts of a certificate the issuer needs that `crypto.X509Certificate` does not give on
 * Node 20: the raw encoded subject and issuer Names (a leaf's issuer must be the issuer's subject
 * byte for byte, RFC 5280 §7.1), the raw SubjectPublicKeyInfo and the key identifiers; and the
 * validity as numbers, from the one validity reader.
 *
 * Node parses the certificate first, so OpenSSL's checks apply; the DER reader then picks out
 * the fields.
 */
import { X509Certificate } from 'node:crypto';
import { certificateValidity } from '../certificate-validity.js';
import { AgentError } from '../errors.js';
import * as der from './der.js';
import { OID } from './x509-encoding.js';

/** What {@link readCertificateInfo} returns. Buffers are views into the input. */
export interface CertificateInfo {
  /** Node's view of the same certificate. */
  readonly x509: X509Certificate;
  /** The encoded subject Name, as in the certificate. */
  readonly subjectDer: Buffer;
  /** The encoded issuer Name, as in the certificate. */
  readonly issuerDer: Buffer;
  /** The encoded SubjectPublicKeyInfo, as in the certificate. */
  readonly spkiDer: Buffer;
  /** The subjectKeyIdentifier extension's key id, when present. */
  readonly subjectKeyId?: Buffer;
  /** The authorityKeyIdentifier extension's `keyIdentifier`, when present. */
  readonly authorityKeyId?: Buffer;
  /** Lower-case hex of the serial's magnitude, as Node prints it (no `0x`, no colons). */
  readonly serial: string;
  /** ms since the epoch */
  readonly notBefore: number;
  /** ms since the epoch */
  readonly notAfter: number;
}

/**
 * Largest certificate read, in octets, checked before OpenSSL parses it: CA certificates are
 * 0.5-2 KiB; OpenSSL spends milliseconds on a 200 KB one (issue 15).
 */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;

/**
 * Reads a DER certificate. Beyond what OpenSSL checks, the DER reader's rules apply: at most
 * {@link MAX_CERTIFICATE_BYTES}, object identifiers of at most 64 octets, no explicit
 * `critical FALSE` (DER omits default values).
 * Anything that reads several certificates (an anchor bundle) can catch this per certificate.
 * @throws AgentError `CREDENTIALS_INVALID` "certificate does not parse" (the reason is the
 *   `cause`) when Node or the DER reader rejects it; certificates only come from credential files
 */
export function readCertificateInfo(certificateDer: Uint8Array): CertificateInfo {
  if (certificateDer.length > MAX_CERTIFICATE_BYTES) {
    throw new AgentError('CREDENTIALS_INVALID', `certificate is larger than ${MAX_CERTIFICATE_BYTES} bytes`);
  }
  try {
    return read(certificateDer);
  } catch (cause) {
    throw new AgentError('CREDENTIALS_INVALID', 'certificate does not parse', { cause });
  }
}

function read(input: Uint8Array): CertificateInfo {
  const x509 = new X509Certificate(input);
  const [tbs] = der.sequenceOf(der.decode(input), 'certificate');
  const fields = der.sequenceOf(tbs, 'tbs certificate');
  // version is [0] EXPLICIT and DEFAULT v1, so it may be absent.
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [, , issuer, , subject, spki, ...rest] = fields.slice(at);
  const info: {
    -readonly [K in keyof CertificateInfo]: CertificateInfo[K];
  } = {
    x509,
    subjectDer: der.expectTag(subject, 0x30, 'subject').raw,
    issuerDer: der.expectTag(issuer, 0x30, 'issuer').raw,
    spkiDer: der.expectTag(spki, 0x30, 'subject public key info').raw,
    serial: x509.serialNumber.toLowerCase(),
    ...certificateValidity(x509),
  };
  const extensions = rest.find((el) => el.tag === 0xa3);
  if (extensions) {
    const [list] = der.childrenOf(extensions);
    for (const ext of der.sequenceOf(list, 'extensions')) {
      const parts = der.sequenceOf(ext, 'extension');
      const id = der.readOid(parts[0], 'extension id');
      if (parts.length === 3) der.readCriticalFlag(parts[1]);
      else if (parts.length !== 2) der.malformed('extension has the wrong number of fields');
      const value = der.readOctetString(parts[parts.length - 1], 'extension value');
      if (id === OID.subjectKeyIdentifier) {
        info.subjectKeyId = der.readOctetString(der.decode(value), 'subject key identifier');
      } else if (id === OID.authorityKeyIdentifier) {
        const keyId = der.sequenceOf(der.decode(value), 'authority key identifier').find((el) => el.tag === 0x80);
        if (keyId) info.authorityKeyId = keyId.content;
      }
    }
  }
  return info;
}
