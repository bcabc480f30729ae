/**
 * The one reader of a certificate's validity period, for the issuer (credential checks, chain
 * expiry) and the CLI (checking and printing fetched SVIDs). Node 20's `X509Certificate` gives the
 * period only as strings (`Jan  1 00:00:00 2026 GMT`); newer Node versions also give `Date`s,
 * which are used when present.
 */
import type { X509Certificate } from 'node:crypto';

/** A validity period, ms since the epoch, both ends included (RFC 5280 §4.1.2.5). */
export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/** `validFromDate` / `validToDate` (Node 22.10+). */
type WithDates = X509Certificate & { readonly validFromDate?: Date; readonly validToDate?: Date };

/** The validity period of `cert`. */
export function certificateValidity(cert: X509Certificate): Validity {
  const { validFromDate, validToDate } = cert as WithDates;
  return {
    notBefore: validFromDate?.getTime() ?? Date.parse(cert.validFrom),
    notAfter: validToDate?.getTime() ?? Date.parse(cert.validTo),
  };
}
