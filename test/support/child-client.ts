/**
 * A Workload API client run as a separate process, so that the agent sees a real peer (its own
 * pid/uid). Prints one JSON line per event: `{"event":"ready","pid":n}`,
 * `{"event":"data","message":{...}}` (bytes as base64), `{"event":"status","code":n,"details":s}`.
 *
 * Flags: --socket PATH --method NAME [--header true|none|twice|false] [--bearer TOKEN]
 *        [--count N (stop after N messages; default 1)] [--timeout MS] [--request JSON]
 *        [--health (call grpc.health.v1.Health)] [--wait-stdin (connect after a line on stdin)]
 *        [--retry (on any status before --count messages, print it and call again after 100 ms)]
 *        [--qualified (call /spiffe.workloadapi.SpiffeWorkloadAPI/<Method>)]
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { healthDefinition, QUALIFIED_WORKLOAD_API_SERVICE, workloadApiDefinition } from '../../src/protos.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    method: { type: 'string', default: 'FetchX509SVID' },
    header: { type: 'string', default: 'true' },
    bearer: { type: 'string' },
    count: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '10000' },
    request: { type: 'string', default: '{}' },
    health: { type: 'boolean', default: false },
    'wait-stdin': { type: 'boolean', default: false },
    retry: { type: 'boolean', default: false },
    qualified: { type: 'boolean', default: false },
  },
});

const definition = values.health
  ? healthDefinition()
  : values.qualified
    ? workloadApiDefinition(QUALIFIED_WORKLOAD_API_SERVICE)
    : workloadApiDefinition();
const found = definition[values.method as string];
if (!found) throw new Error(`unknown method ${values.method}`);
const method: grpc.MethodDefinition<unknown, unknown> = found;

const print = (line: unknown) =>
  process.stdout.write(
    `${JSON.stringify(line, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('base64') : v))}\n`,
  );

const metadata = new grpc.Metadata();
if (values.header === 'true') metadata.set('workload.spiffe.io', 'true');
if (values.header === 'false') metadata.set('workload.spiffe.io', 'false');
if (values.header === 'twice') {
  metadata.add('workload.spiffe.io', 'true');
  metadata.add('workload.spiffe.io', 'true');
}
if (values.bearer) metadata.set('authorization', `Bearer ${values.bearer}`);

print({ event: 'ready', pid: process.pid });
if (values['wait-stdin']) {
  // The test registers this pid (e.g. in a /proc fixture) before the connection is made.
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}
const deadline = Date.now() + Number(values.timeout);
const request = JSON.parse(values.request as string) as unknown;
let remaining = Number(values.count);
let client = new grpc.Client(`unix:${values.socket}`, grpc.credentials.createInsecure());

const finish = (code: number, details: string) => {
  print({ event: 'status', code, details });
  client.close();
  process.exit(0);
};

function callStream(): void {
  const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, {
    deadline,
  });
  let settled = false;
  const ended = (code: number, details: string) => {
    if (settled) return;
    settled = true;
    if (values.retry && Date.now() < deadline) {
      // Like the Linkerd proxy: every status (and a stream that just ends) is retried.
      print({ event: 'retry', code, details });
      client.close();
      client = new grpc.Client(`unix:${values.socket}`, grpc.credentials.createInsecure());
      setTimeout(callStream, 100);
      return;
    }
    finish(code, details);
  };
  call.on('data', (message: unknown) => {
    print({ event: 'data', message });
    if (--remaining <= 0) {
      settled = true;
      call.cancel();
      finish(0, 'done');
    }
  });
  call.on('error', (err: grpc.ServiceError) => ended(err.code, err.details));
  call.on('status', (st: grpc.StatusObject) => ended(st.code, st.details));
}

if (method.responseStream) {
  callStream();
} else {
  client.makeUnaryRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    request,
    metadata,
    { deadline },
    (err, message) => {
      if (err) return finish(err.code ?? 2, err.details ?? err.message);
      print({ event: 'data', message });
      finish(0, 'done');
    },
  );
}
