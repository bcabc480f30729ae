/**
 * Client-side checks of an `X509SVIDResponse` before `api fetch x509` shows or writes it, like
 * `spire-agent api fetch x509` (spiffe-workload-api.md §6.2): at least one SVID, every chain,
 * key and bundle parses, the key matches the leaf, and the chain verifies up to a bundle root.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { certificateValidity } from '../certificate-validity.js';
import { AgentError, describeError } from '../errors.js';
import { parseSpiffeId } from '../identity.js';
import type { X509SVIDResponse } from './workload-client.js';

/** One SVID that passed every check. */
export interface CheckedSvid {
  readonly spiffeId: string;
  readonly hint: string;
  /** Leaf first, then intermediates, as sent. */
  readonly chain: readonly X509Certificate[];
  /** The leaf's private key. Never print or log it. */
  readonly key: KeyObject;
  /** The trust domain's CA certificates, as sent. */
  readonly bundle: readonly X509Certificate[];
}

/**
 * Splits concatenated DER certificates (the Workload API's `x509_svid` and `bundle` encoding)
 * by reading each outer SEQUENCE's length.
 * @throws Error saying which certificate (1-based) does not parse
 */
export function splitDerCertificates(der: Buffer): X509Certificate[] {
  const certs: X509Certificate[] = [];
  let offset = 0;
  while (offset < der.length) {
    const n = certs.length + 1;
    if (der[offset] !== 0x30) throw new Error(`certificate #${n} is not a DER SEQUENCE`);
    const first = der[offset + 1];
    if (first === undefined) throw new Error(`certificate #${n} is truncated`);
    let header = 2;
    let length = first;
    if (first & 0x80) {
      const bytes = first & 0x7f;
      if (bytes === 0 || bytes > 4 || offset + 2 + bytes > der.length) throw new Error(`certificate #${n} has an invalid length`);
      length = der.readUIntBE(offset + 2, bytes);
      header += bytes;
    }
    const end = offset + header + length;
    if (end > der.length) throw new Error(`certificate #${n} is truncated`);
    try {
      certs.push(new X509Certificate(der.subarray(offset, end)));
    } catch (err) {
      throw new Error(`certificate #${n} does not parse: ${describeError(err)}`);
    }
    offset = end;
  }
  return certs;
}

/**
 * Checks every SVID of a response at time `now` (ms since the epoch).
 * @throws AgentError `CREDENTIALS_INVALID` naming the SVID and what is wrong
 */
export function checkX509Response(response: X509SVIDResponse, now: number): CheckedSvid[] {
  if (response.svids.length === 0) throw new AgentError('CREDENTIALS_INVALID', 'workload response contains no svids');
  for (const [td, bundle] of Object.entries(response.federated_bundles)) {
    const certs = parseCerts(bundle, `federated bundle ${td}`);
    if (certs.length === 0) throw new AgentError('CREDENTIALS_INVALID', `federated bundle ${td} holds no certificates`);
  }
  return response.svids.map((svid, i) => {
    const fail = (message: string): AgentError => new AgentError('CREDENTIALS_INVALID', `svid #${i}: ${message}`);
    const id = parseSpiffeId(svid.spiffe_id);
    if (typeof id === 'string') throw fail(`invalid spiffe_id "${svid.spiffe_id}": ${id}`);
    const chain = parseCerts(svid.x509_svid, `svid #${i}: x509_svid`);
    const leaf = chain[0];
    if (!leaf) throw fail('x509_svid holds no certificates');
    const uris = (leaf.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:'));
    if (uris.length !== 1 || uris[0] !== `URI:${svid.spiffe_id}`) {
      throw fail(`the leaf certificate's URI SAN is not exactly ${svid.spiffe_id}`);
    }
    if (leaf.ca) throw fail('the leaf certificate is a CA');
    const key = parseKey(svid.x509_svid_key, fail);
    if (!leaf.checkPrivateKey(key)) throw fail('x509_svid_key does not match the leaf certificate');
    const bundle = parseCerts(svid.bundle, `svid #${i}: bundle`);
    if (bundle.length === 0) throw fail('no certificates in trust bundle');
    const problem = verifyChain(chain, bundle, now);
    if (problem) throw fail(problem);
    return { spiffeId: svid.spiffe_id, hint: svid.hint, chain, key, bundle };
  });
}

function parseCerts(der: Buffer, what: string): X509Certificate[] {
  try {
    return splitDerCertificates(der);
  } catch (err) {
    throw new AgentError('CREDENTIALS_INVALID', `${what}: ${describeError(err)}`);
  }
}

function parseKey(der: Buffer, fail: (message: string) => AgentError): KeyObject {
  if (der.length === 0) throw fail('x509_svid_key is empty');
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    // The parser's message is not shown: it could quote key bytes.
    throw fail('x509_svid_key is not an unencrypted PKCS#8 DER private key');
  }
}

/** A message when the chain does not verify up to a root in `bundle` at `now`, else `undefined`. */
export function verifyChain(chain: readonly X509Certificate[], bundle: readonly X509Certificate[], now: number): string | undefined {
  for (const [i, cert] of chain.entries()) {
    const what = i === 0 ? 'the leaf certificate' : `intermediate #${i}`;
    const period = checkValidity(cert, now);
    if (period) return `${what} ${period}`;
    const parent = chain[i + 1];
    if (!parent) break;
    if (!parent.ca) return `intermediate #${i + 1} is not a CA`;
    if (!cert.checkIssued(parent) || !cert.verify(parent.publicKey)) {
      return `${what} is not signed by intermediate #${i + 1}`;
    }
  }
  const top = chain[chain.length - 1] as X509Certificate;
  for (const root of bundle) {
    if (root.fingerprint256 === top.fingerprint256) return undefined;
    if (root.ca && top.checkIssued(root) && top.verify(root.publicKey)) {
      const period = checkValidity(root, now);
      return period ? `the bundle CA ${root.subject.replaceAll('\n', ', ')} ${period}` : undefined;
    }
  }
  return 'the chain does not verify up to any CA in the trust bundle';
}

function checkValidity(cert: X509Certificate, now: number): string | undefined {
  const { notBefore, notAfter } = certificateValidity(cert);
  if (now < notBefore) return `is not valid before ${cert.validFrom}`;
  if (now > notAfter) return `expired at ${cert.validTo}`;
  return undefined;
}
