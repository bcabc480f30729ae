// A bare grpc-js server, the reference the agent is measured against (bench/run.ts): one
// server-streaming method at the Workload API's path that sends one fixed message and keeps the
// stream open, on a unix socket, and nothing else (no proto loading, no attestation, no logs).
// On SIGUSR2 it sends the message again on every open stream, as a rotation does, and first
// writes {"msg":"rotated svid","time":<ms>} on stderr, like the agent's log line.
// Plain JavaScript, run with plain `node`, as the built agent is.
//
//   node bench/bare-grpc-server.mjs SOCKET_PATH [MESSAGE_BYTES]
import * as grpc from '@grpc/grpc-js';

// 1,571 bytes: the size of the agent's X509SVIDResponse in dev mode.
const [socketPath, size = '1571'] = process.argv.slice(2);
const message = Buffer.alloc(Number(size), 0x2a);
const same = (b) => b;
const open = new Set();
const server = new grpc.Server();
server.addService(
  {
    FetchX509SVID: {
      path: '/SpiffeWorkloadAPI/FetchX509SVID',
      requestStream: false,
      responseStream: true,
      requestSerialize: same,
      requestDeserialize: same,
      responseSerialize: same,
      responseDeserialize: same,
    },
  },
  {
    FetchX509SVID: (call) => {
      open.add(call);
      call.on('close', () => open.delete(call));
      call.write(message);
    },
  },
);
server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
});
process.on('SIGUSR2', () => {
  process.stderr.write(`${JSON.stringify({ msg: 'rotated svid', time: Date.now() })}\n`);
  for (const call of open) call.write(message);
});
process.on('SIGTERM', () => server.forceShutdown());
