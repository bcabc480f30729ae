/**
 * A client that opens a FetchX509SVID stream on a new connection and cancels it, again and again
 * (issue 15 item 4: issuance storms). Every third call is cancelled at once, the others after
 * their first message or a short wait, whichever comes first. Prints one JSON line at the end:
 * `{"loops":N,"received":R,"codes":{...}}`.
 * Flags: --socket PATH --loops N
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { workloadApiDefinition } from '../../src/protos.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, loops: { type: 'string', default: '100' } } });
const method = workloadApiDefinition().FetchX509SVID as grpc.MethodDefinition<object, object>;
const codes: Record<string, number> = {};
let received = 0;

function once(i: number): Promise<void> {
  return new Promise((resolve) => {
    const client = new grpc.Client(`unix:${values.socket}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const md = new grpc.Metadata();
    md.set('workload.spiffe.io', 'true');
    const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, {}, md);
    const timer = setTimeout(() => call.cancel(), i % 3 === 1 ? 1 : 5);
    call.on('data', () => {
      received++;
      call.cancel();
    });
    call.on('error', () => undefined);
    call.on('status', (st: grpc.StatusObject) => {
      clearTimeout(timer);
      codes[st.code] = (codes[st.code] ?? 0) + 1;
      client.close();
      resolve();
    });
    if (i % 3 === 0) call.cancel();
  });
}

const loops = Number(values.loops);
for (let i = 0; i < loops; i++) await once(i);
process.stdout.write(`${JSON.stringify({ loops, received, codes })}\n`);
process.exit(0);
