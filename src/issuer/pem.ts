/**
 * PEM (RFC 7468) reading and writing. Reading is lenient in what surrounds the blocks (CRLF line
 * ends, comments and `openssl x509 -text` output between blocks, indentation), strict inside a
 * block: the body must be valid base64, so a damaged file is reported, not half-read.
 */
import { AgentError } from '../errors.js';

/** One decoded PEM block. */
export interface PemBlock {
  /** The label, e.g. `CERTIFICATE`, `PRIVATE KEY`. */
  readonly type: string;
  readonly der: Buffer;
}

/** Options of {@link pemBlocks}. */
export interface PemBlocksOptions {
  /** Keep only blocks with this label and skip the others; default: keep every block. */
  readonly type?: string;
}

const BLOCK = /-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?-----([\s\S]*?)-----END ([^\r\n]*?)-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Every PEM block in `text`, in order. Text outside blocks is ignored. Legacy RFC 1421 headers
 * inside a block (`Proc-Type: ...`) are skipped.
 * @throws AgentError `CREDENTIALS_INVALID` when a block's END label does not match its BEGIN
 *   label or its body is not valid base64 (the error names the label, never the content)
 */
export function pemBlocks(text: string, options: PemBlocksOptions = {}): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const type = m[1] ?? '';
    if (m[3] !== type) throw new AgentError('CREDENTIALS_INVALID', `pem block ${type || '(unlabelled)'} has a mismatched end line`);
    if (options.type !== undefined && type !== options.type) continue;
    const body = (m[2] ?? '')
      .split(/\r?\n|\r/)
      .filter((line) => !line.includes(':'))
      .join('')
      .replace(/[ \t]/g, '');
    if (!BASE64.test(body)) throw new AgentError('CREDENTIALS_INVALID', `pem block ${type} is not valid base64`);
    out.push({ type, der: Buffer.from(body, 'base64') });
  }
  return out;
}

/** A PEM block with 64-character lines and a trailing newline (RFC 7468 §2). */
export function toPem(type: string, der: Uint8Array): string {
  if (!/^[\x21-\x2c\x2e-\x7e]+(?:[- ][\x21-\x2c\x2e-\x7e]+)*$/.test(type)) throw new TypeError(`invalid pem label ${type}`);
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}-----END ${type}-----\n`;
}

/**
 * The DER of every `CERTIFICATE` block in `text`, in file order; other blocks (keys, CRLs) are
 * skipped. Returns an empty array when there is none; the bytes are not checked to be
 * certificates (see `readCertificateInfo` or `crypto.X509Certificate` for that).
 * @throws AgentError `CREDENTIALS_INVALID` as {@link pemBlocks}
 */
export function certificatesFromPem(text: string): Buffer[] {
  return pemBlocks(text, { type: 'CERTIFICATE' }).map((b) => b.der);
}
