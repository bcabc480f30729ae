// Client side of bench/streams.ts: opens N FetchX509SVID streams spread over C connections and
// reports, as JSON lines with the wall-clock time (`at`, ms), when every stream has its first
// message (`open`) and when every stream has received one more (`updated`, after a rotation,
// with the CPU time the client spent receiving it, `cpuMs`).
//
// A lean client, so that what is measured is the server's delivery, not the client's speed: it
// speaks HTTP/2 itself over the unix socket (prior knowledge, as gRPC clients do), with no grpc-js,
// no node:http2 stream objects and no tsx, and counts each stream's gRPC messages by their 5-byte
// prefix without decoding them. With node:http2 streams the 10 clients spent 540–660 ms of CPU on
// one rotation of 10,000 streams, more than the server; like this, 220–330 ms (docs/performance.md). Every stream is still a
// real HTTP/2 stream the server holds open. The client grants the largest flow-control windows
// HTTP/2 allows, as a client that reads as fast as it can would, and never needs to update them
// (a stream here receives a few KiB).
//
//   node bench/stream-client.mjs --socket PATH --streams N --connections C
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { socket: { type: 'string' }, streams: { type: 'string', default: '10000' }, connections: { type: 'string', default: '10' } },
});
const streams = Number(values.streams);
const connections = Number(values.connections);

const print = (line) => process.stdout.write(`${JSON.stringify({ ...line, at: Date.now() })}\n`);
const fail = (details) => {
  print({ event: 'error', details });
  process.exit(1);
};

// HTTP/2 (RFC 9113): frame types, flags and settings used here.
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65_535;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(type, flags, streamId, payload) {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  payload.copy(out, 9);
  return out;
}

/** An HPACK header block of literal fields without indexing (RFC 7541 §6.2.2), no Huffman. */
function headerBlock(fields) {
  const parts = [];
  for (const [name, value] of fields) {
    if (name.length > 126 || value.length > 126) throw new Error('header too long for this encoder');
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value));
  }
  return Buffer.concat(parts);
}

/** The request every stream sends: the same header block, then an empty X509SVIDRequest. */
const REQUEST_HEADERS = headerBlock([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/SpiffeWorkloadAPI/FetchX509SVID'],
  [':authority', 'localhost'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
  ['workload.spiffe.io', 'true'],
]);
const REQUEST_MESSAGE = Buffer.alloc(5);

function settingsPayload(settings) {
  const out = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, 6 * i);
    out.writeUInt32BE(value, 6 * i + 2);
  });
  return out;
}

let open = 0;
let updated = 0;
let rotationCpu;

/** Counts the gRPC messages of one stream as its DATA arrives: a message may span frames. */
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

  /** Consumes `buf[start, end)`. */
  take(buf, start, end) {
    let i = start;
    while (i < end) {
      if (this.prefix < 5) {
        if (this.prefix > 0) this.length = this.length * 256 + buf[i];
        this.prefix++;
        i++;
        if (this.prefix === 5) {
          this.left = this.length;
          if (this.left === 0) this.complete();
        }
        continue;
      }
      const n = Math.min(this.left, end - i);
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
    if (this.messages !== 2) return;
    // The CPU this client spent from its first second message to its last: its share of the
    // rotation's cost (bench/streams.ts prints the sum over the clients). Counted from `open`
    // instead, it would take in V8's collection of the opening's garbage, seconds later.
    if (++updated === 1) rotationCpu = process.cpuUsage();
    if (updated === streams) {
      const { user, system } = process.cpuUsage(rotationCpu);
      print({ event: 'updated', cpuMs: (user + system) / 1000 });
    }
  }
}

/** One connection carrying `count` streams. */
function connection(count) {
  const counters = new Map();
  const socket = connect(values.socket);
  let opened = false;

  socket.on('connect', () => {
    const settings = settingsPayload([
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW],
    ]);
    const windowUpdate = Buffer.alloc(4);
    windowUpdate.writeUInt32BE(MAX_WINDOW - DEFAULT_WINDOW);
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settings), frame(0x8, 0, 0, windowUpdate)]));
  });
  socket.on('error', (err) => fail(`connection: ${err.message}`));
  socket.on('close', () => fail('connection closed by the server'));

  /** Opens the streams once the server's settings are known. */
  function openStreams(maxConcurrent) {
    if (opened) return;
    opened = true;
    if (count > maxConcurrent) fail(`the server allows ${maxConcurrent} streams per connection; asked for ${count}`);
    const frames = [];
    for (let i = 0; i < count; i++) {
      const id = 2 * i + 1;
      counters.set(id, new MessageCounter());
      frames.push(frame(HEADERS, END_HEADERS, id, REQUEST_HEADERS), frame(DATA, END_STREAM, id, REQUEST_MESSAGE));
    }
    socket.write(Buffer.concat(frames));
  }

  /** A frame other than DATA, whole. */
  function onFrame(type, flags, id, buf, start, end) {
    switch (type) {
      case HEADERS:
        // The response headers; with END_STREAM, trailers: the server ended the call.
        if (flags & END_STREAM) fail(`stream ${id} ended by the server (trailers)`);
        return;
      case RST_STREAM:
        return fail(`stream ${id} reset by the server, code ${buf.readUInt32BE(start)}`);
      case SETTINGS: {
        if (flags & ACK) return;
        let maxConcurrent = Number.POSITIVE_INFINITY;
        for (let i = start; i + 6 <= end; i += 6) {
          if (buf.readUInt16BE(i) === SETTINGS_MAX_CONCURRENT_STREAMS) maxConcurrent = buf.readUInt32BE(i + 2);
        }
        socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        return openStreams(maxConcurrent);
      }
      case PING:
        if (!(flags & ACK)) socket.write(frame(PING, ACK, 0, buf.subarray(start, end)));
        return;
      case GOAWAY:
        return fail(`GOAWAY from the server, code ${buf.readUInt32BE(start + 4)}`);
      default:
        // WINDOW_UPDATE (this client sends 5 bytes a stream), CONTINUATION (header blocks are not
        // decoded): nothing to do.
        return;
    }
  }

  // The frame being read: its 9-byte header, then its payload. A DATA payload goes straight to its
  // stream's counter as it arrives (no copy); the few other frames are collected whole.
  const header = Buffer.alloc(9);
  let headerRead = 0;
  let type = 0;
  let flags = 0;
  let id = 0;
  let left = 0;
  let counter;
  let payload = [];

  function frameStarted() {
    left = header.readUIntBE(0, 3);
    type = header[3];
    flags = header[4];
    id = header.readUInt32BE(5) & 0x7fffffff;
    if (type === DATA) {
      counter = counters.get(id);
      if (!counter) fail(`DATA on unknown stream ${id}`);
      if (flags & PADDED) fail('padded DATA frames are not supported by this client');
    }
    if (left === 0) frameEnded();
  }

  function frameEnded() {
    headerRead = 0;
    if (type === DATA) {
      if (flags & END_STREAM) fail(`stream ${id} ended by the server`);
      return;
    }
    const body = payload.length === 1 ? payload[0] : Buffer.concat(payload);
    payload = [];
    onFrame(type, flags, id, body, 0, body.length);
  }

  socket.on('data', (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (headerRead < 9) {
        const n = Math.min(9 - headerRead, chunk.length - i);
        chunk.copy(header, headerRead, i, i + n);
        headerRead += n;
        i += n;
        if (headerRead === 9) frameStarted();
        continue;
      }
      const n = Math.min(left, chunk.length - i);
      if (type === DATA) counter.take(chunk, i, i + n);
      else payload.push(chunk.subarray(i, i + n));
      left -= n;
      i += n;
      if (left === 0) frameEnded();
    }
  });
}

for (let c = 0; c < connections; c++) connection(Math.floor(streams / connections) + (c < streams % connections ? 1 : 0));
