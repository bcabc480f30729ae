/**
 * An HTTP/1.1 response read incrementally from a kept-alive connection to the Kubernetes API
 * (RFC 9112): the status line, the header fields, and a body framed by `Content-Length`, by
 * `Transfer-Encoding: chunked`, or by the end of the connection. Interim (1xx) responses are
 * skipped. Everything is bounded; anything malformed is an error, and the connection is then
 * not used again. Pure: kube-http.ts feeds it the bytes.
 */

/** A complete response. */
export interface Http1Response {
  readonly status: number;
  /** Header fields by lower-case name; repeated fields joined with `, `. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** Whether the connection may carry another request (HTTP/1.1, no `Connection: close`, framed body). */
  readonly reusable: boolean;
}

/** Bound on a response's status line and header fields together, and on its trailer section. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** Interim (1xx) responses skipped before the final one, at most. */
const MAX_INTERIM_RESPONSES = 10;

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
/** RFC 9110 field-name: a token. */
export const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * RFC 9110 field-value characters: visible, space, tab, and obs-text (octets 0x80–0xff), what
 * node's HTTP client allows too; no CR, LF or NUL, and nothing above U+00FF, which a latin1
 * encoding would cut to its low octet (U+010A would become LF).
 */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

type Framing = { readonly kind: 'length'; remaining: number } | { readonly kind: 'chunked' } | { readonly kind: 'close' };

/** A final response's status line and header fields, read. */
interface Head {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly keepAlive: boolean;
  readonly framing: Framing;
}

/** Reads one response; {@link push} each chunk received, {@link end} when the connection ends. */
export class Http1ResponseReader {
  readonly #maxBodyBytes: number;
  #buffer: Buffer = Buffer.alloc(0);
  #head: Head | undefined;
  readonly #body: Buffer[] = [];
  #bodyBytes = 0;
  /** Where a chunked body is: before a chunk-size line, inside a chunk's data, before its CRLF, in the trailer section. */
  #chunkState: 'size' | 'data' | 'data-end' | 'trailers' = 'size';
  /** Octets of the current chunk's data still to read. */
  #chunkLeft = 0;
  #interimResponses = 0;
  #trailerBytes = 0;
  /** Whether any octet arrived: a request on a reused connection that got none may be sent again. */
  received = false;

  constructor(maxBodyBytes: number) {
    this.#maxBodyBytes = maxBodyBytes;
  }

  /**
   * Takes the next octets of the connection.
   * @returns the response once complete, else `undefined` (more is needed)
   * @throws Error naming what is malformed or too long
   */
  push(chunk: Buffer): Http1Response | undefined {
    if (chunk.length > 0) this.received = true;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (!this.#head) {
        // An interim response read: the final one may follow in the same octets.
        if (this.#readHead() === 'more') return undefined;
        continue;
      }
      return this.#readBody();
    }
  }

  /**
   * The connection ended (the server closed it).
   * @returns the response when its body runs to the end of the connection
   * @throws Error when the response is incomplete
   */
  end(): Http1Response {
    const head = this.#head;
    if (head?.framing.kind === 'close') {
      this.#take(this.#buffer);
      return this.#complete(false);
    }
    throw new Error(
      head
        ? 'kubernetes api closed the connection in the middle of a response body'
        : 'kubernetes api closed the connection without a response',
    );
  }

  /** Reads the status line and header fields: of a final response, or of an interim one, which is skipped. */
  #readHead(): 'more' | 'interim' | 'final' {
    const end = this.#buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#buffer.length > MAX_HEAD_BYTES) throw new Error(`kubernetes api response head is longer than ${MAX_HEAD_BYTES} bytes`);
      return 'more';
    }
    if (end > MAX_HEAD_BYTES) throw new Error(`kubernetes api response head is longer than ${MAX_HEAD_BYTES} bytes`);
    const lines = this.#buffer.toString('latin1', 0, end).split('\r\n');
    this.#buffer = this.#buffer.subarray(end + HEAD_END.length);
    const statusLine = STATUS_LINE.exec(lines[0] ?? '');
    if (!statusLine) throw new Error('kubernetes api answered with a malformed status line');
    const status = Number(statusLine[2]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      // A name must be a token right up to the colon (no obs-fold, no space before the colon).
      if (colon <= 0 || !FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) {
        throw new Error('kubernetes api answered with a malformed header field');
      }
      const earlier = headers.get(name);
      headers.set(name, earlier === undefined ? value : `${earlier}, ${value}`);
    }
    if (status < 200) {
      if (status === 101) throw new Error('kubernetes api switched protocols, which was not asked for');
      this.#interimResponses += 1;
      if (this.#interimResponses > MAX_INTERIM_RESPONSES) throw new Error('kubernetes api sent too many interim responses');
      return 'interim'; // 100 Continue, 103 Early Hints: the final response follows
    }
    const keepAlive = statusLine[1] === '1' && !tokensOf(headers.get('connection')).includes('close');
    const framing = framingOf(status, headers);
    // A declared length over the bound is refused before any of the body is read.
    if (framing.kind === 'length' && framing.remaining > this.#maxBodyBytes) throw tooLong(this.#maxBodyBytes);
    this.#head = { status, headers, keepAlive, framing };
    return 'final';
  }

  #readBody(): Http1Response | undefined {
    const head = this.#head as Head;
    const framing = head.framing;
    if (framing.kind === 'close') {
      this.#take(this.#buffer);
      this.#buffer = Buffer.alloc(0);
      return undefined;
    }
    if (framing.kind === 'length') {
      const part = this.#buffer.subarray(0, framing.remaining);
      this.#take(part);
      framing.remaining -= part.length;
      this.#buffer = this.#buffer.subarray(part.length);
      return framing.remaining === 0 ? this.#complete(head.keepAlive) : undefined;
    }
    return this.#readChunks(head.keepAlive);
  }

  /** Chunked transfer coding: `size[;ext] CRLF data CRLF`..., `0 CRLF`, trailer fields, `CRLF`. */
  #readChunks(keepAlive: boolean): Http1Response | undefined {
    for (;;) {
      switch (this.#chunkState) {
        case 'size': {
          const line = this.#line();
          if (line === undefined) return undefined;
          const size = /^([0-9A-Fa-f]{1,8})(?:[ \t]*;[^\r\n]*)?$/.exec(line);
          if (!size) throw new Error('kubernetes api answered with a malformed chunk size');
          this.#chunkLeft = Number.parseInt(size[1] as string, 16);
          this.#chunkState = this.#chunkLeft === 0 ? 'trailers' : 'data';
          break;
        }
        case 'data': {
          const part = this.#buffer.subarray(0, this.#chunkLeft);
          this.#take(part);
          this.#chunkLeft -= part.length;
          this.#buffer = this.#buffer.subarray(part.length);
          if (this.#chunkLeft > 0) return undefined;
          this.#chunkState = 'data-end';
          break;
        }
        case 'data-end': {
          const available = Math.min(this.#buffer.length, CRLF.length);
          if (!this.#buffer.subarray(0, available).equals(CRLF.subarray(0, available))) {
            throw new Error('kubernetes api answered with a malformed chunk');
          }
          if (available < CRLF.length) return undefined;
          this.#buffer = this.#buffer.subarray(CRLF.length);
          this.#chunkState = 'size';
          break;
        }
        case 'trailers': {
          const line = this.#line();
          if (line === undefined) return undefined;
          // A trailer field: nothing here needs one. The empty line ends the message.
          if (line === '') return this.#complete(keepAlive);
          this.#trailerBytes += line.length + CRLF.length;
          if (this.#trailerBytes > MAX_HEAD_BYTES)
            throw new Error(`kubernetes api response trailers are longer than ${MAX_HEAD_BYTES} bytes`);
          break;
        }
      }
    }
  }

  /** The next CRLF-terminated line, taken from the buffer; `undefined` until it is complete, which it must be within bounds. */
  #line(): string | undefined {
    const end = this.#buffer.indexOf(CRLF);
    if (end < 0) {
      if (this.#buffer.length > MAX_HEAD_BYTES) throw new Error('kubernetes api answered with an overlong chunk line');
      return undefined;
    }
    const line = this.#buffer.toString('latin1', 0, end);
    this.#buffer = this.#buffer.subarray(end + CRLF.length);
    return line;
  }

  #take(part: Buffer): void {
    if (part.length === 0) return;
    this.#bodyBytes += part.length;
    if (this.#bodyBytes > this.#maxBodyBytes) throw tooLong(this.#maxBodyBytes);
    this.#body.push(part);
  }

  #complete(keepAlive: boolean): Http1Response {
    const head = this.#head as Head;
    const body = this.#body.length === 1 ? (this.#body[0] as Buffer) : Buffer.concat(this.#body);
    // Octets after the response on a connection that sent no second request: not reusable.
    const reusable = keepAlive && head.framing.kind !== 'close' && this.#buffer.length === 0;
    return { status: head.status, headers: head.headers, body, reusable };
  }
}

function tooLong(maxBodyBytes: number): Error {
  return new Error(`kubernetes api answer longer than ${maxBodyBytes} bytes`);
}

/** The lower-case tokens of a comma-separated header field. */
function tokensOf(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((t) => t.trim().toLowerCase());
}

/** How the body of a final response is delimited (RFC 9112 §6.3). */
function framingOf(status: number, headers: ReadonlyMap<string, string>): Framing {
  // No body after 204 and 304 (and none is asked for by HEAD, which is never sent).
  if (status === 204 || status === 304) return { kind: 'length', remaining: 0 };
  const codings = tokensOf(headers.get('transfer-encoding'));
  if (codings.length > 0) {
    // Content-Length next to Transfer-Encoding is a smuggling pattern: refused, not guessed at.
    if (codings.at(-1) !== 'chunked' || codings.length > 1 || headers.has('content-length')) {
      throw new Error('kubernetes api answered with a transfer coding other than chunked');
    }
    return { kind: 'chunked' };
  }
  const length = headers.get('content-length');
  if (length === undefined) return { kind: 'close' };
  if (!/^\d{1,15}$/.test(length)) throw new Error('kubernetes api answered with a malformed content-length');
  return { kind: 'length', remaining: Number(length) };
}
