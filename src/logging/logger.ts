// The application log (pino). The prediction log is a separate destination (DESIGN §8) and
// will get its own module; nothing here is on the per-request hot path.
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger };

/** `destination` lets tests read log lines back; default is stdout. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const opts = { level, base: { svc: 'sluice' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination) : pino(opts);
}
