/**
 * Client side of bench/streams.ts: opens N FetchX509SVID streams spread over C connections and
 * reports, as JSON lines with the wall-clock time (`at`, ms), when every stream has its first
 * message (`open`) and when every stream has received one more (`updated`, after a rotation).
 * Flags: --socket PATH --streams N --connections C
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { workloadApiDefinition } from '../src/protos.js';

const { values } = parseArgs({
  options: { socket: { type: 'string' }, streams: { type: 'string', default: '10000' }, connections: { type: 'string', default: '10' } },
});
const streams = Number(values.streams);
const connections = Number(values.connections);
const method = workloadApiDefinition().FetchX509SVID as grpc.MethodDefinition<object, object>;
/** An empty X509SVIDRequest. */
const REQUEST = {};
const print = (line: object) => process.stdout.write(`${JSON.stringify({ ...line, at: Date.now() })}\n`);

const clients = Array.from(
  { length: connections },
  () =>
    new grpc.Client(`unix:${values.socket}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_concurrent_streams': 100_000,
    }),
);
const received = new Uint16Array(streams);
let open = 0;
let updated = 0;
// Messages are counted, not decoded: the client must not be the bottleneck being measured.
const passThrough = (b: Buffer) => b;
for (let i = 0; i < streams; i++) {
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  const call = (clients[i % connections] as grpc.Client).makeServerStreamRequest(
    method.path,
    method.requestSerialize,
    passThrough,
    REQUEST,
    md,
  );
  call.on('data', () => {
    received[i] = (received[i] ?? 0) + 1;
    if (received[i] === 1 && ++open === streams) print({ event: 'open' });
    if (received[i] === 2 && ++updated === streams) print({ event: 'updated' });
  });
  call.on('error', (err: grpc.ServiceError) => {
    print({ event: 'error', code: err.code, details: err.details });
    process.exit(1);
  });
}
