/**
 * The ticket keys of a running issuer: the key derived from the issuer in use signs new tickets;
 * after an issuer swap the previous issuer's key (and certificate) is still accepted for one SVID
 * lifetime, so a swap during an API outage does not strand nodes (docs/central-issuer.md). A
 * restarted issuer knows only the issuer it loaded.
 */
import type { X509Certificate } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Receiver } from '../value-channel.js';
import type { IssuerCredentials } from './credentials.js';
import { ticketKeyFor } from './renewal-ticket.js';

/** One issuer's ticket key, with the certificate that signed the SVIDs its tickets stand for. */
export interface TicketKey {
  readonly key: Buffer;
  readonly issuer: X509Certificate;
}

/** What {@link createRenewalKeys} returns. */
export interface RenewalKeys {
  /** The key new tickets are authenticated with; `undefined` while no issuer is loaded. */
  signing(): TicketKey | undefined;
  /** The keys a ticket may verify under, the issuer in use's first. */
  verifying(): readonly TicketKey[];
  /** Stops following the issuer. */
  close(): void;
}

/** Options of {@link createRenewalKeys}. */
export interface RenewalKeysOptions {
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly clock: Clock;
  /** How long a previous issuer's key stays accepted after a swap, ms: the SVID lifetime. */
  readonly previousKeyGraceMs: number;
}

/** Follows the issuer in use. */
export function createRenewalKeys(options: RenewalKeysOptions): RenewalKeys {
  const keyOf = (issuer: IssuerCredentials | undefined): TicketKey | undefined =>
    issuer && { key: ticketKeyFor(issuer.privateKey), issuer: issuer.certificate };
  let current = keyOf(options.issuer.get());
  let previous: { readonly key: TicketKey; readonly until: number } | undefined;
  const stop = options.issuer.subscribe((next) => {
    const replaced = current;
    current = keyOf(next);
    if (replaced && current && !replaced.key.equals(current.key)) {
      previous = { key: replaced, until: options.clock.now() + options.previousKeyGraceMs };
    }
  });
  return {
    signing: () => current,
    verifying() {
      const keys = current ? [current] : [];
      if (previous && options.clock.now() < previous.until) keys.push(previous.key);
      return keys;
    },
    close: stop,
  };
}
