/**
 * Renewal tickets of the central issuer (docs/central-issuer.md, "Renewal tickets"): what an
 * issuance backed by a workload token attested, so that the SVID can be renewed while the
 * Kubernetes API is unreachable, by any replica and by a restarted issuer, and only until
 * attested-at + the SVID lifetime.
 *
 * A ticket is authenticated, not encrypted: HMAC-SHA256 under a key derived from the issuer's
 * private key (HKDF-SHA256, its own `info`), so every replica loading the same issuer Secret
 * derives the same key and no other secret exists. It is never the JWT key. Pure functions.
 *
 * Layout (all integers big-endian):
 * `version (1) | attestedAtMs (8) | expiresAtMs (8) | keyFingerprint (32) | nodeLength (1) | node
 *  | spiffeIdLength (2) | spiffeId | HMAC-SHA256 of everything before (32)`.
 */
import { createHmac, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import * as der from './der.js';

/** The only version written and read. */
export const TICKET_VERSION = 1;
/** HKDF `info` of the ticket key: a key derived for this purpose only. */
export const TICKET_KEY_INFO = 'svid-agent renewal ticket v1';

const MAC_LENGTH = 32;
const FINGERPRINT_LENGTH = 32;
const HEAD_LENGTH = 1 + 8 + 8 + FINGERPRINT_LENGTH;
/** Kubernetes node names are DNS-1123 subdomains: at most 253 characters. */
const MAX_NODE_LENGTH = 253;
const MAX_SPIFFE_ID_LENGTH = 2048;
/** Longest ticket {@link verifyTicket} reads. */
export const MAX_TICKET_BYTES = HEAD_LENGTH + 1 + MAX_NODE_LENGTH + 2 + MAX_SPIFFE_ID_LENGTH + MAC_LENGTH;

/** What a ticket says. */
export interface RenewalTicket {
  readonly spiffeId: string;
  /** The node whose agent the SVID was issued to. */
  readonly node: string;
  /** SHA-256 of the SVID key's SubjectPublicKeyInfo DER. */
  readonly keyFingerprint: Buffer;
  /** When a workload token last proved the identity, ms since the epoch. */
  readonly attestedAtMs: number;
  /** `attestedAtMs` + the SVID lifetime: no renewal on this ticket alone after it. */
  readonly expiresAtMs: number;
}

/**
 * The ticket key of an issuer: HKDF-SHA256 over the issuer's private scalar (from its SEC1
 * encoding, so every replica and every file format of the same key gives the same bytes).
 * @throws TypeError when `issuerKey` is not an EC private key
 */
export function ticketKeyFor(issuerKey: KeyObject): Buffer {
  if (issuerKey.type !== 'private' || issuerKey.asymmetricKeyType !== 'ec')
    throw new TypeError('ticket keys derive from an ec private key');
  const sec1 = issuerKey.export({ type: 'sec1', format: 'der' });
  try {
    // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, ... } (RFC 5915)
    const scalar = der.readOctetString(der.sequenceOf(der.decode(sec1), 'ec private key')[1], 'ec private key scalar');
    return Buffer.from(hkdfSync('sha256', scalar, Buffer.alloc(0), TICKET_KEY_INFO, 32));
  } finally {
    sec1.fill(0);
  }
}

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

/**
 * Writes and authenticates a ticket.
 * @throws TypeError for a field that does not fit the layout (caller misuse)
 */
export function encodeTicket(ticket: RenewalTicket, key: Buffer): Buffer {
  const node = Buffer.from(ticket.node, 'utf8');
  const spiffeId = Buffer.from(ticket.spiffeId, 'utf8');
  if (node.length === 0 || node.length > MAX_NODE_LENGTH) throw new TypeError('ticket node must be 1-253 bytes');
  if (spiffeId.length === 0 || spiffeId.length > MAX_SPIFFE_ID_LENGTH) throw new TypeError('ticket spiffe id must be 1-2048 bytes');
  if (ticket.keyFingerprint.length !== FINGERPRINT_LENGTH) throw new TypeError('ticket key fingerprint must be 32 bytes');
  for (const t of [ticket.attestedAtMs, ticket.expiresAtMs]) {
    if (!Number.isSafeInteger(t) || t < 0) throw new TypeError('ticket times must be non-negative integers');
  }
  const body = Buffer.alloc(HEAD_LENGTH + 1 + node.length + 2 + spiffeId.length);
  body.writeUInt8(TICKET_VERSION, 0);
  body.writeBigUInt64BE(BigInt(ticket.attestedAtMs), 1);
  body.writeBigUInt64BE(BigInt(ticket.expiresAtMs), 9);
  ticket.keyFingerprint.copy(body, 17);
  body.writeUInt8(node.length, HEAD_LENGTH);
  node.copy(body, HEAD_LENGTH + 1);
  body.writeUInt16BE(spiffeId.length, HEAD_LENGTH + 1 + node.length);
  spiffeId.copy(body, HEAD_LENGTH + 3 + node.length);
  return Buffer.concat([body, mac(key, body)]);
}

/** Why a ticket was not accepted. */
export type TicketProblem = 'malformed' | 'unknown_key';

/** A ticket that verified, and which of the keys it verified under. */
export interface VerifiedTicket {
  readonly ticket: RenewalTicket;
  /** Index into the `keys` given to {@link verifyTicket}. */
  readonly keyIndex: number;
}

/**
 * Reads a ticket and checks its MAC under each of `keys` (the issuer in use's, then a previous
 * issuer's). Time is not checked here.
 * @returns the ticket, or why not: `malformed` (layout, version, lengths), `unknown_key` (no key
 *   authenticates it: forged, altered, or made by an issuer no longer known)
 */
export function verifyTicket(bytes: Uint8Array, keys: readonly Buffer[]): VerifiedTicket | TicketProblem {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEAD_LENGTH + 1 + 2 + MAC_LENGTH || buf.length > MAX_TICKET_BYTES) return 'malformed';
  if (buf.readUInt8(0) !== TICKET_VERSION) return 'malformed';
  const nodeLength = buf.readUInt8(HEAD_LENGTH);
  const idAt = HEAD_LENGTH + 1 + nodeLength;
  if (nodeLength === 0 || idAt + 2 > buf.length - MAC_LENGTH) return 'malformed';
  const idLength = buf.readUInt16BE(idAt);
  if (idLength === 0 || idAt + 2 + idLength !== buf.length - MAC_LENGTH) return 'malformed';
  const body = buf.subarray(0, buf.length - MAC_LENGTH);
  const given = buf.subarray(buf.length - MAC_LENGTH);
  const keyIndex = keys.findIndex((key) => timingSafeEqual(mac(key, body), given));
  if (keyIndex < 0) return 'unknown_key';
  const attestedAtMs = Number(buf.readBigUInt64BE(1));
  const expiresAtMs = Number(buf.readBigUInt64BE(9));
  if (!Number.isSafeInteger(attestedAtMs) || !Number.isSafeInteger(expiresAtMs)) return 'malformed';
  return {
    keyIndex,
    ticket: {
      attestedAtMs,
      expiresAtMs,
      keyFingerprint: Buffer.from(buf.subarray(17, HEAD_LENGTH)),
      node: buf.toString('utf8', HEAD_LENGTH + 1, idAt),
      spiffeId: buf.toString('utf8', idAt + 2, idAt + 2 + idLength),
    },
  };
}
