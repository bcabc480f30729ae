/**
 * A process that logs through `createLogger` to its stderr (log-output.test.ts): `<lines>
 * <bufferBytes|default> <wait|exit>`. It tells its parent over IPC when every call returned,
 * then either leaves the queued lines to be written (wait) or exits at once (exit).
 */
import { createLogger } from '../../src/log.js';

const [lines = '0', bufferBytes = 'default', mode = 'wait'] = process.argv.slice(2);
const log = createLogger(bufferBytes === 'default' ? {} : { bufferBytes: Number(bufferBytes) });
const filler = 'x'.repeat(100);
for (let i = 0; i < Number(lines); i++) log.info({ i, filler }, 'line');
process.send?.({ logged: Number(lines) }, () => {
  if (mode === 'exit') process.exit(0);
  // Nothing but the queued lines keeps the process now.
  process.disconnect?.();
});
