// The server's process entry, shared by `node dist/src/main.js` (npm start) and `sluice serve`:
// parse the command line, answer --help/--version, else start the gateway and stop gracefully on
// SIGTERM/SIGINT. It owns the process from here on (it calls process.exit), so a caller hands it
// the arguments and returns. config.ts stays pure; this is the only server module that prints to
// stdout before the logger exists.
import { formatSettingsHelp, parseArgv, resolveConfig, type ArgvOptionTable, type ParsedArgv } from '../config/config.js';
import { SluiceError } from '../errors.js';
import { SLUICE_VERSION, startGateway, type Gateway } from '../gateway.js';

/** Options that are not settings: each prints something and exits 0. */
const ACTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies ArgvOptionTable;

export interface ServeEntry {
  /** What the usage line names: `sluice` from main.js, `sluice serve` from the CLI. */
  readonly command: string;
  /**
   * Exit status when parseArgv refuses the command line (an unknown option, a missing value):
   * 1 from main.js, as it always was; 2 from the CLI, whose usage errors all exit 2. A setting
   * that parses but does not validate, and a failed start, exit 1 from both.
   */
  readonly argvErrorExitCode: number;
}

function usage(command: string): string {
  return (
    `usage: ${command} [options]\n\n` +
    'Serves the ONNX models of a repository over the Open Inference Protocol (HTTP and WebSocket).\n' +
    'Flags override SLUICE_* environment variables, which override the defaults; a bool setting\n' +
    'is a flag without a value (its variable takes 1/true/yes/on or 0/false/no/off).\n\n' +
    'options:\n' +
    '  -h, --help\n      print this help and exit\n' +
    '  --version\n      print the version and exit\n' +
    formatSettingsHelp()
  );
}

function fail(err: unknown, exitCode: number): never {
  const e = err instanceof SluiceError ? err : undefined;
  process.stderr.write(`sluice: ${e ? `${e.code}: ${e.message}` : String((err as Error)?.stack ?? err)}\n`);
  for (const d of e?.details ?? []) process.stderr.write(`  ${d}\n`);
  process.exit(exitCode);
}

/**
 * Runs the server with `argv` (the arguments after the script or the `serve` word) and `env`
 * (the SLUICE_* settings; process.env in both entries). Resolves once the gateway listens, or
 * once help/version is printed; a refusal exits the process.
 */
export async function serve(argv: readonly string[], entry: ServeEntry, env: NodeJS.ProcessEnv): Promise<void> {
  let values: ParsedArgv['values'];
  try {
    values = parseArgv(argv, { extra: ACTIONS }).values;
  } catch (err) {
    fail(err, entry.argvErrorExitCode);
  }
  if (values.help) {
    process.stdout.write(usage(entry.command));
    return;
  }
  if (values.version) {
    process.stdout.write(`${SLUICE_VERSION}\n`);
    return;
  }
  // The handlers go in before the gateway starts: a SIGTERM while it starts (a rollout that changes
  // its mind) must not kill the process with the default action; it waits for the start, then
  // shuts down as usual.
  let gateway: Gateway | undefined;
  let signals = 0;
  let signalledWhileStarting = false;
  const stop = (signal: string): void => {
    if (gateway === undefined) {
      signalledWhileStarting = true;
      return;
    }
    const g = gateway;
    if (++signals > 1) {
      g.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    g.shutdown().then(
      () => process.exit(0),
      (err) => {
        g.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    gateway = await startGateway(resolveConfig(values, env));
  } catch (err) {
    fail(err, 1);
  }
  if (signalledWhileStarting) stop('SIGTERM');
}
