/**
 * Certify's CSR rules (docs/linkerd-identity.md, "What Certify checks"), pure. For a DNS-form identity (Linkerd's
 * `checkCSR`): exactly one DNS SAN equal to the identity, CN empty or equal to it, no email,
 * IP or URI SANs. For a `spiffe://` identity the CSR's names are ignored: the leaf's names come
 * from the identity. In both forms the CSR's signature must verify (Linkerd does not check it).
 */
import { AgentError } from '../errors.js';
import type { ParsedCsr } from './csr.js';

function reject(message: string): never {
  throw new AgentError('CSR_REJECTED', message);
}

/** @throws AgentError `CSR_REJECTED` naming the first rule that fails */
export function checkCsr(csr: ParsedCsr, identity: string): void {
  if (!identity.toLowerCase().startsWith('spiffe://')) {
    if (csr.dnsNames.length !== 1) reject('CSR must have exactly one DNSName');
    if (csr.dnsNames[0] !== identity) reject(`CSR name does not match requested identity: csr=${csr.dnsNames[0]}; req=${identity}`);
    if (csr.commonName !== undefined && csr.commonName !== '' && csr.commonName !== identity)
      reject(`invalid CommonName: ${csr.commonName}`);
    if (csr.emails.length > 0) reject('cannot validate email addresses');
    if (csr.ipAddresses.length > 0) reject('cannot validate IP addresses');
    if (csr.uris.length > 0) reject('cannot validate URIs');
  }
  if (!csr.verifySignature()) reject('CSR signature does not verify');
}
