/**
 * Proof of possession for a renewal (docs/central-issuer.md, "Renewal tickets"): the holder of an
 * SVID's current key signs the ticket and the CSR for the next key, so a ticket or a certificate
 * alone renews nothing. A replayed proof only gets a certificate for a key the replayer lacks.
 * Pure functions.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';

/** Domain separation: what a renewal proof signs starts with these bytes (the text, then 0x00). */
export const RENEWAL_PROOF_CONTEXT = Buffer.from('svid-agent renewal v1\0', 'latin1');

/** The bytes a proof signs: context ‖ ticket ‖ csr. */
export function renewalProofMessage(ticket: Uint8Array, csr: Uint8Array): Buffer {
  return Buffer.concat([RENEWAL_PROOF_CONTEXT, ticket, csr]);
}

/**
 * Signs a renewal proof with the current SVID key (ecdsa-with-SHA256, DER signature), as a node
 * agent does.
 * @throws TypeError when `currentKey` is not an EC private key
 */
export function signRenewalProof(currentKey: KeyObject, ticket: Uint8Array, csr: Uint8Array): Buffer {
  if (currentKey.type !== 'private' || currentKey.asymmetricKeyType !== 'ec') throw new TypeError('renewal proofs are signed by an ec key');
  return sign('sha256', renewalProofMessage(ticket, csr), currentKey);
}

/** True when `signature` is the current key's proof over `ticket` and `csr`. Never throws. */
export function verifyRenewalProof(currentKey: KeyObject, ticket: Uint8Array, csr: Uint8Array, signature: Uint8Array): boolean {
  if (currentKey.asymmetricKeyType !== 'ec' || signature.length === 0) return false;
  try {
    return verify('sha256', renewalProofMessage(ticket, csr), currentKey, signature);
  } catch {
    return false;
  }
}

/** SHA-256 of a SubjectPublicKeyInfo DER: how a ticket names the key it was issued for. */
export function keyFingerprint(spkiDer: Uint8Array): Buffer {
  return createHash('sha256').update(spkiDer).digest();
}
