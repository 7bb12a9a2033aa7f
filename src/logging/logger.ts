// The application log (pino). The prediction log and the access log are separate destinations
// (DESIGN §8; predlog/, access-log.ts); nothing here is on the per-request hot path.
//
// Formats: `json` (default) writes pino's JSON lines; `pretty` writes pino-pretty's
// human-readable lines, for a terminal. Pretty is formatted in-process and written synchronously
// (pino-pretty's prettyFactory, not its stream): pino-pretty's stream is a transform pipeline, so
// lines still in it when the process exits right after "stopped" would be lost; the cost, a
// blocking write per line, is acceptable for a development format.
import { pino, type Logger, type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel } from '../config/config.js';

export type { Logger };

export interface LoggerOptions {
  /** `json` (default) or `pretty`. */
  readonly format?: LogFormat;
  /** Where lines go (tests read them back, pretty ones too); stdout by default. */
  readonly destination?: DestinationStream;
}

export function createLogger(level: LogLevel, opts: LoggerOptions = {}): Logger {
  const options = { level, base: { svc: 'sluice' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.format === 'pretty') return pino(options, prettyDestination(opts.destination));
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A destination that turns each JSON line into pino-pretty's text before writing it. */
function prettyDestination(destination: DestinationStream | undefined): DestinationStream {
  const format = pinoPretty.prettyFactory({
    // One line per event (errors keep their stack lines); `svc` is the same on every line.
    singleLine: true,
    ignore: 'svc',
    // Colours only on a terminal (pino-pretty's own test, which honours NO_COLOR/FORCE_COLOR).
    colorize: destination === undefined && pinoPretty.isColorSupported,
  });
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  return { write: (line: string) => out.write(format(line)) };
}
