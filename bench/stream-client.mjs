// Client side of bench/streams.ts: opens N FetchX509SVID streams spread over C connections and
// reports, as JSON lines with the wall-clock time (`at`, ms), when every stream has its first
// message (`open`) and when every stream has received one more (`updated`, after a rotation).
//
// A lean client, so that what is measured is the server's delivery, not the client's speed:
// node:http2 with HTTP/2 prior knowledge over the unix socket, plain JavaScript run by plain
// `node` (no tsx, no grpc-js), and messages counted by their 5-byte gRPC prefix, never decoded.
// Each stream is still a real HTTP/2 stream held open by the server. The client grants a large
// connection flow-control window, as a client that reads as fast as it can would.
//
//   node bench/stream-client.mjs --socket PATH --streams N --connections C
import { constants, connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { socket: { type: 'string' }, streams: { type: 'string', default: '10000' }, connections: { type: 'string', default: '10' } },
});
const streams = Number(values.streams);
const connections = Number(values.connections);
const PATH = '/SpiffeWorkloadAPI/FetchX509SVID';
/** An empty X509SVIDRequest: the 5-byte prefix (uncompressed, length 0) and nothing else. */
const REQUEST = Buffer.alloc(5);
/** The connection window granted: the whole rotation of every stream fits in it. */
const WINDOW = 64 * 1024 * 1024;
const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE, HTTP2_HEADER_STATUS } = constants;

const print = (line) => process.stdout.write(`${JSON.stringify({ ...line, at: Date.now() })}\n`);
const fail = (what) => {
  print({ event: 'error', ...what });
  process.exit(1);
};

let open = 0;
let updated = 0;

/** Counts the gRPC messages of one stream as its DATA arrives: a message may span chunks. */
class MessageCounter {
  constructor() {
    /** Prefix bytes read of the current message (0–5). */
    this.prefix = 0;
    /** The current message's length, read from its prefix. */
    this.length = 0;
    /** Bytes of the current message's body still to come. */
    this.left = 0;
    this.messages = 0;
  }

  /** Consumes `chunk`; calls `onMessage` once per message completed. */
  take(chunk) {
    let i = 0;
    while (i < chunk.length) {
      if (this.prefix < 5) {
        if (this.prefix > 0) this.length = this.length * 256 + chunk[i];
        this.prefix++;
        i++;
        if (this.prefix === 5) {
          this.left = this.length;
          if (this.left === 0) this.complete();
        }
        continue;
      }
      const n = Math.min(this.left, chunk.length - i);
      this.left -= n;
      i += n;
      if (this.left === 0) this.complete();
    }
  }

  complete() {
    this.prefix = 0;
    this.length = 0;
    this.messages++;
    if (this.messages === 1 && ++open === streams) print({ event: 'open' });
    if (this.messages === 2 && ++updated === streams) print({ event: 'updated' });
  }
}

const sessions = Array.from({ length: connections }, () => {
  const session = http2Connect('http://localhost', {
    createConnection: () => netConnect(values.socket),
    settings: { enablePush: false },
  });
  session.on('connect', () => session.setLocalWindowSize(WINDOW));
  session.on('error', (err) => fail({ details: `connection: ${err.message}` }));
  return session;
});

for (let i = 0; i < streams; i++) {
  const counter = new MessageCounter();
  const stream = sessions[i % connections].request({
    [HTTP2_HEADER_METHOD]: 'POST',
    [HTTP2_HEADER_PATH]: PATH,
    [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
    [HTTP2_HEADER_TE]: 'trailers',
    'workload.spiffe.io': 'true',
  });
  stream.on('response', (headers) => {
    if (headers[HTTP2_HEADER_STATUS] !== 200) fail({ details: `HTTP status ${headers[HTTP2_HEADER_STATUS]}` });
    // A trailers-only response: the call failed before any message.
    if (headers['grpc-status'] !== undefined) fail({ code: Number(headers['grpc-status']), details: headers['grpc-message'] });
  });
  stream.on('trailers', (trailers) => fail({ code: Number(trailers['grpc-status']), details: trailers['grpc-message'] }));
  stream.on('data', (chunk) => counter.take(chunk));
  stream.on('error', (err) => fail({ details: `stream: ${err.message}` }));
  stream.end(REQUEST);
}
