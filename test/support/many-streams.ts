/**
 * Opens N FetchX509SVID streams, each on its own connection, from one process. Prints
 * `{"event":"open","count":N}` once every stream has its first message, then
 * `{"event":"ended","codes":{...}}` when all have ended.
 * Flags: --socket PATH --streams N
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { workloadApiDefinition } from '../../src/protos.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, streams: { type: 'string', default: '100' } } });
const n = Number(values.streams);
const def = workloadApiDefinition();
const method = def.FetchX509SVID as grpc.MethodDefinition<object, object>;
const codes: Record<string, number> = {};
let open = 0;
let ended = 0;
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

for (let i = 0; i < n; i++) {
  const client = new grpc.Client(`unix:${values.socket}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, {}, md);
  let first = true;
  call.on('data', () => {
    if (first && ++open === n) print({ event: 'open', count: n });
    first = false;
  });
  call.on('error', () => undefined);
  call.on('status', (st: grpc.StatusObject) => {
    codes[st.code] = (codes[st.code] ?? 0) + 1;
    client.close();
    if (++ended === n) {
      print({ event: 'ended', codes });
      process.exit(0);
    }
  });
}
