/**
 * Runs in a child whose fd limit is low (`ulimit -n`): loads the credentials, starts the reloader,
 * then opens /dev/null until EMFILE and reads the credentials again, as an agent under a
 * connection flood would (issue 15). Prints one JSON line: the errors and the reloader's log.
 * Usage: fd-exhaustion-child.ts <trust-anchors> <issuer-dir>
 */
import { openSync } from 'node:fs';
import { describeError, isAgentError } from '../../src/errors.js';
import { loadIssuer, loadTrustAnchors, startCredentialReloader } from '../../src/issuer/index.js';
import { createValueChannel } from '../../src/value-channel.js';
import { captureLogger } from './log-capture.js';

const [anchorsPath, issuerDir] = process.argv.slice(2) as [string, string];
const clock = { now: () => Date.now() };
const anchors = await loadTrustAnchors(anchorsPath, { now: clock.now() });
const issuer = await loadIssuer(issuerDir, anchors, { now: clock.now() });
const log = captureLogger('info');
const issuerChannel = createValueChannel<typeof issuer | undefined>(issuer);
const reloader = await startCredentialReloader({
  trustAnchorsPath: anchorsPath,
  issuerDir,
  initial: { anchors, issuer },
  anchorsSink: createValueChannel(anchors).sink,
  issuerSink: issuerChannel.sink,
  clock,
  logger: log.logger,
  pollMs: 0,
});

const held: number[] = [];
for (;;) {
  try {
    held.push(openSync('/dev/null', 'r'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err;
    break;
  }
}
const outcome = async (p: Promise<unknown>) =>
  p.then(
    () => ({ code: 'ok', message: '' }),
    (err: unknown) => ({ code: isAgentError(err) ? err.code : 'untyped', message: isAgentError(err) ? err.message : describeError(err) }),
  );
const result = {
  held: held.length,
  issuer: await outcome(loadIssuer(issuerDir, anchors, { now: clock.now() })),
  anchors: await outcome(loadTrustAnchors(anchorsPath, { now: clock.now() })),
  reload: await outcome(reloader.reload()),
  issuerKept: issuerChannel.receiver.get() === issuer,
  log: log.entries.map((e) => ({ level: e.level, msg: e.msg, error: e.error })),
};
reloader.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
