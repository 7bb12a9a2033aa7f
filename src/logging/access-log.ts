// The access log: one JSON line per answered inference request (HTTP and WebSocket, success or
// refusal; shadow answers are not requests and get none), in a destination of its own — never
// mixed into the application log unless both are pointed at stdout.
//
// Contract:
// - observe(event) is synchronous, O(1) and never throws for a well-formed event: pino formats
//   the line, sonic-boom queues it and writes it with fs.write on libuv's pool (sync: false), so
//   the event loop never waits for the disk.
// - Memory is bounded: at most MAX_BUFFERED_BYTES wait for a slow destination; beyond that lines
//   are dropped and counted (warned once in the app log, the total again at close).
// - A write error (ENOSPC, EPIPE) is reported in the app log (at most once per ERROR_LOG_EVERY_MS)
//   and never crashes the process; the lines that failed stay buffered and are retried.
// - close() stops taking lines, writes what is buffered (at most CLOSE_TIMEOUT_MS), closes the
//   file (never stdout) and resolves; it never rejects. Idempotent.
// - A file destination is opened (append, created if missing) when the log is opened, so a path
//   that cannot be written refuses the start instead of losing every line.
//
// This module sits below the data plane (L1): it takes the fields it needs structurally
// (AccessFacts), which a PredictionEvent satisfies, instead of importing the data plane's types.
import fs from 'node:fs';
import { pino, type Logger } from 'pino';
import { SluiceError } from '../errors.js';

/** What an access line needs of a prediction event (dataplane/prediction-event.ts). */
export interface AccessFacts {
  readonly id: string | null;
  readonly shadow: boolean;
  readonly model: string;
  readonly version: number | null;
  readonly protocol: string;
  readonly status: number;
  readonly code: string;
  readonly clientId?: string;
  /** "POST /v2/models/digits/infer", "WS /v2/ws". */
  readonly target: string;
  readonly timings: { readonly totalUs: number };
}

/** One line's fields, in order; pino puts `level` (30) and `time` (ISO 8601) in front. */
export interface AccessRecord {
  /** The HTTP method, or `WS` for a request over the WebSocket. */
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: string;
  readonly model: string;
  /** The version that answered; null when none was routed (unknown model, refused early). */
  readonly version: string | null;
  /** From the first byte read to the answer handed to the transport, whole µs. */
  readonly total_us: number;
  readonly id: string | null;
  readonly protocol: string;
  readonly client_id?: string;
}

export interface AccessLogDeps {
  /** Where trouble with the access log itself is reported. */
  readonly appLog: Logger;
}

/** Lines held for a slow destination; more are dropped and counted. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const CLOSE_TIMEOUT_MS = 5_000;
const ERROR_LOG_EVERY_MS = 10_000;
/** Longest model name repeated from a request (an unknown name can be long). */
const MAX_MODEL_CHARS = 256;

export function accessRecord(e: AccessFacts): AccessRecord {
  const space = e.target.indexOf(' ');
  return {
    method: space < 0 ? '' : e.target.slice(0, space),
    path: space < 0 ? e.target : e.target.slice(space + 1),
    status: e.status,
    code: e.code,
    model: e.model.length > MAX_MODEL_CHARS ? e.model.slice(0, MAX_MODEL_CHARS) : e.model,
    version: e.version === null ? null : String(e.version),
    total_us: Math.max(0, Math.round(e.timings.totalUs)),
    id: e.id,
    protocol: e.protocol,
    ...(e.clientId === undefined ? {} : { client_id: e.clientId }),
  };
}

export class AccessLog {
  private closed = false;
  private closing: Promise<void> | undefined;
  private droppedLines = 0;
  private lastErrorLogMs = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly dest: ReturnType<typeof pino.destination>,
    private readonly log: Logger,
    private readonly deps: AccessLogDeps,
    private readonly where: string,
  ) {
    dest.on('drop', () => {
      if (this.droppedLines++ === 0) deps.appLog.warn({ accessLog: where, maxBufferedBytes: MAX_BUFFERED_BYTES }, 'access log destination too slow: dropping lines');
    });
    dest.on('error', (err: Error) => {
      const now = Date.now();
      if (now - this.lastErrorLogMs < ERROR_LOG_EVERY_MS) return;
      this.lastErrorLogMs = now;
      deps.appLog.error({ accessLog: where, err }, 'access log write failed; lines stay buffered and are retried');
    });
  }

  /**
   * `setting` is config.accessLog: `off` (undefined is returned), `stdout`, or a file path.
   * Throws SLUICE_ERR_CONFIG_INVALID when the file cannot be opened for appending.
   */
  static open(setting: string, deps: AccessLogDeps): AccessLog | undefined {
    if (setting === 'off') return undefined;
    let fd = 1;
    if (setting !== 'stdout') {
      try {
        fd = fs.openSync(setting, 'a');
      } catch (err) {
        throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', `--access-log ${setting}: cannot open the file for appending (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
      }
    }
    const dest = pino.destination({ dest: fd, sync: false, maxLength: MAX_BUFFERED_BYTES });
    const log = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, dest);
    return new AccessLog(dest, log, deps, setting);
  }

  /** The data plane's observer (DataPlane.addObserver): one line per primary answer. */
  readonly observe = (event: AccessFacts): void => {
    if (this.closed || event.shadow) return;
    this.log.info(accessRecord(event));
  };

  /** Flushes and closes the destination (see the contract above). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = true;
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.droppedLines > 0) this.deps.appLog.warn({ accessLog: this.where, droppedLines: this.droppedLines }, 'access log closed; some lines were dropped');
        resolve();
      };
      const timer = setTimeout(() => {
        this.deps.appLog.warn({ accessLog: this.where, timeoutMs: CLOSE_TIMEOUT_MS }, 'access log close timed out; buffered lines lost');
        done();
      }, CLOSE_TIMEOUT_MS);
      timer.unref();
      this.dest.once('close', done);
      this.dest.once('error', done);
      this.dest.end();
    });
    return this.closing;
  }
}
