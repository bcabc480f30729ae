/**
 * Raw HTTP/2 bytes of gRPC requests, built by hand so the socket fuzzer can mutate them frame by
 * frame: the client preface, SETTINGS, HEADERS (HPACK literals, no Huffman), DATA carrying one
 * length-prefixed gRPC message, and the odd PING, WINDOW_UPDATE, RST_STREAM or GOAWAY.
 */
import { mutateBytes } from './mutate.js';
import type { Rng } from './prng.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One frame: 24-bit length, type, flags, 31-bit stream id, payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer, length = payload.length): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length & 0xffffff, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, n: number, first: number): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** "Literal Header Field without Indexing — New Name", no Huffman coding. */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7, 0), n, hpackInt(v.length, 7, 0), v]);
}

const METHODS = [
  '/SpiffeWorkloadAPI/FetchX509SVID',
  '/SpiffeWorkloadAPI/FetchX509Bundles',
  '/SpiffeWorkloadAPI/FetchJWTSVID',
  '/SpiffeWorkloadAPI/FetchJWTBundles',
  '/SpiffeWorkloadAPI/ValidateJWTSVID',
  '/SpiffeWorkloadAPI/FetchWITSVID',
  '/grpc.health.v1.Health/Check',
  '/nope/Nope',
];

function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 128) {
    out.push((rest % 128) | 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A length-delimited protobuf field. */
const str = (field: number, text: string): Buffer => {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(bytes.length), bytes]);
};

/** A protobuf request body for `method`, sometimes with hostile fields. */
function body(rng: Rng, method: string): Buffer {
  const aud = rng.pick(['spiffe://cluster.local/ns/a/sa/b', '', 'x'.repeat(2000), Buffer.from([0xff, 0xfe]).toString('latin1')]);
  if (method.endsWith('FetchJWTSVID'))
    return Buffer.concat([str(1, aud), ...(rng.chance(0.3) ? [str(2, 'spiffe://cluster.local/ns/x/sa/y')] : [])]);
  if (method.endsWith('ValidateJWTSVID'))
    return Buffer.concat([str(1, aud), str(2, rng.pick(['a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30.AA', '']))]);
  return rng.chance(0.9) ? Buffer.alloc(0) : rng.bytes(rng.int(40));
}

/** The frames of one connection: a well-formed request, mutated now and then at frame level. */
export function requestFrames(rng: Rng): Buffer[] {
  const method = rng.pick(METHODS);
  const headers = Buffer.concat([
    literal(':method', 'POST'),
    literal(':scheme', 'http'),
    literal(':path', method),
    literal(':authority', 'localhost'),
    literal('content-type', rng.chance(0.9) ? 'application/grpc' : 'text/plain'),
    literal('te', 'trailers'),
    ...(rng.chance(0.85) ? [literal('workload.spiffe.io', 'true')] : []),
    ...(rng.chance(0.1) ? [literal('authorization', `Bearer ${'a'.repeat(rng.int(3000))}`)] : []),
    ...(rng.chance(0.1) ? [literal('grpc-timeout', rng.pick(['1m', '99999999H', 'x']))] : []),
  ]);
  const message = body(rng, method);
  const grpcFrame = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), message]);
  grpcFrame.writeUInt32BE(message.length, 1);
  const frames = [frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x1, 0x4, 1, headers), frame(0x0, 0x1, 1, grpcFrame)];
  const extras = [
    frame(0x6, 0, 0, rng.bytes(8)),
    frame(0x8, 0, rng.int(2) * 1, Buffer.from([0, 0, 0x10, 0])),
    frame(0x3, 0, 1, Buffer.from([0, 0, 0, 8])),
    frame(0x7, 0, 0, Buffer.alloc(8)),
    frame(0x9, 0x4, 1, headers.subarray(0, rng.int(headers.length))),
    frame(rng.int(256), rng.int(256), rng.int(8), rng.bytes(rng.int(64))),
  ];
  for (let n = rng.int(4); n > 0; n--) {
    const at = rng.int(frames.length + 1);
    switch (rng.int(6)) {
      case 0:
        frames.splice(at, 0, rng.pick(extras));
        break;
      case 1:
        frames.splice(at, 1);
        break;
      case 2:
        frames.splice(at, 0, frames[rng.int(frames.length)] ?? Buffer.alloc(0));
        break;
      case 3: {
        // A frame whose length field lies.
        const f = Buffer.from(frames[at] ?? frame(0, 0, 1, Buffer.alloc(0)));
        if (f.length >= 9) f.writeUIntBE(rng.pick([0, 1, 0x4000, 0xffffff, rng.int(0x1000000)]), 0, 3);
        frames[at] = f;
        break;
      }
      case 4:
        frames[at] = mutateBytes(rng, frames[at] ?? Buffer.alloc(0));
        break;
      default:
        frames.splice(at, 0, frame(0x0, 0, 1, rng.bytes(rng.int(300))));
    }
  }
  return frames;
}

/** The whole byte stream of one fuzzed connection. */
export function connectionBytes(rng: Rng): Buffer {
  const roll = rng.next();
  if (roll < 0.03) return rng.bytes(rng.int(200));
  if (roll < 0.06) return PREFACE.subarray(0, rng.int(PREFACE.length));
  const bytes = Buffer.concat([PREFACE, ...requestFrames(rng)]);
  return rng.chance(0.15) ? mutateBytes(rng, bytes) : bytes;
}
