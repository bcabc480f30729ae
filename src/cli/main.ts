/**
 * The `svid-agent` entry point (`bin/svid-agent.js` imports this module). The one place that
 * reads the real process: argv, env, cwd, files and the standard streams; the rest is
 * `program.ts`.
 */
import { readRegularFileSync } from '../regular-file.js';
import { invocation } from './invocation.js';
import { runCli } from './program.js';

// A reader that goes away (`svid-agent api fetch jwt | head -1`) is not an error of ours: stop
// quietly, as other command-line tools do, instead of dying on an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  self: invocation(process.argv[1], process.cwd(), process.execArgv),
  io: { out: (text) => void process.stdout.write(text), err: (text) => void process.stderr.write(text) },
  // A FIFO or a device given as --config is refused at once instead of hanging the command.
  readFile: (path, maxBytes) => readRegularFileSync(path, maxBytes).toString('utf8'),
  interrupt: () => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return controller.signal;
  },
});
process.exitCode = code;
// A handle left open by a library must not keep a finished command alive; unref'd, this timer
// only fires if something else is still holding the event loop.
setTimeout(() => process.exit(code), 2000).unref();
