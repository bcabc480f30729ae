/**
 * A leaf's subjectAltName entries in certificate order, and the identity a Linkerd proxy server
 * gives the client that presents it. linkerd2-proxy `linkerd/meshtls/verifier/src/lib.rs`
 * (`extract_ids_from_cert`, `client_identity`) keeps the DNS and URI names in SAN order, drops the
 * other kinds, and takes the **first**; Linkerd policy then matches that one name. The
 * certificate is read with @peculiar/x509, not with our own DER reader, so a test cannot pass
 * merely because encoder and reader share a mistake.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';

/** One GeneralName of the SAN extension: `dns`, `uri`, or another kind by @peculiar's name. */
export interface SanEntry {
  readonly type: string;
  readonly value: string;
}

/** The SAN entries of a DER certificate in the order the certificate holds them. */
export function subjectAltNames(der: Uint8Array): SanEntry[] {
  const cert = new x509.X509Certificate(der);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];
  return san.names.items.map((name) => ({ type: name.type === 'url' ? 'uri' : name.type, value: name.value }));
}

/** The name a Linkerd proxy server reports for a client with this leaf (`client_identity`). */
export function linkerdClientIdentity(der: Uint8Array): string | undefined {
  return subjectAltNames(der).find((e) => e.type === 'dns' || e.type === 'uri')?.value;
}

/**
 * Asserts the SAN layout every leaf we sign must have: the Linkerd DNS-form name first (so
 * Linkerd policy and `l5d-client-id` see it), then exactly one URI SAN, the SPIFFE ID, and
 * nothing else.
 */
export function assertLinkerdSans(der: Uint8Array, expected: { dnsName: string; spiffeId: string }): void {
  const sans = subjectAltNames(der);
  assert.equal(linkerdClientIdentity(der), expected.dnsName, 'a Linkerd server sees the DNS-form name first');
  assert.deepEqual(
    sans.filter((e) => e.type === 'uri'),
    [{ type: 'uri', value: expected.spiffeId }],
    'exactly one URI SAN',
  );
  assert.deepEqual(sans, [
    { type: 'dns', value: expected.dnsName },
    { type: 'uri', value: expected.spiffeId },
  ]);
}
