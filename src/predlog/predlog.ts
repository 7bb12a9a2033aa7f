// The prediction log (DESIGN §8): one JSON line per prediction event — every answered request
// and every shadow answer — in pino's line format, on its own destination, never the app log's.
//
// It observes the data plane, so it runs a tick after each answer and can neither delay nor fail
// one. Per prediction the event loop pays for the record (typed-array copies of the tensors,
// made by the data plane), its line (line-bytes.ts: its bytes written straight into a buffer) and
// a place in the file's buffer; the writes run on libuv's pool (line-file.ts). Nothing is lost
// silently: a line is written or counted as dropped — `buffer_full` when the buffer is full,
// `write_error` when a write fails, `closed` for what shutdown could not write in time — and
// memory stays bounded. (Formatting in a worker thread was measured too, with postMessage:
// cloning the records there and the lines back cost the main thread more than formatting here.
// The main thread is the limit under load, not the box: bench/README.md, predlog.)
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SluiceSettings } from '../config/config.js';
import type { PredictionEvent } from '../dataplane/prediction-event.js';
import { LineFile, rotationOf, type DropReason } from './line-file.js';
import { LineEncoder, lineBound } from './line-bytes.js';
import { toRecord, type PredictionRecord } from './record.js';

export interface PredictionLogMeters {
  /** `lines` lines were formed for the log (told in bulk, before their writes or drops). */
  formed(kind: 'primary' | 'shadow', lines: number): void;
  dropped(reason: DropReason, lines: number): void;
  written(lines: number, bytes: number): void;
  buffered(bytes: number): void;
}

export interface PredictionLogDeps {
  readonly settings: Pick<
    SluiceSettings,
    'predictionLog' | 'predictionLogMaxBytes' | 'predictionLogKeep' | 'predictionLogRotateS' | 'predictionLogBufferBytes' | 'drainTimeoutMs'
  >;
  /** False for a model whose model.json says `"predictionLog": {"enabled": false}`. */
  enabledFor(model: string): boolean;
  readonly meters: PredictionLogMeters;
  /** The app log, for drops and destination trouble (drops rate-limited here). */
  readonly appLog: Pick<Logger, 'warn'>;
  nowMs(): number;
}

/** At most one app-log warning about dropped lines per this many ms (the metric counts each). */
const DROP_WARN_EVERY_MS = 10_000;
/** The meters are told at least this often while lines are formed. */
const METERS_EVERY_MS = 100;

export class PredictionLog {
  private seq = 0;
  private readonly run = randomBytes(4).toString('hex');
  private readonly file: LineFile;
  private readonly encoder = new LineEncoder();
  private droppedSinceWarn = 0;
  private lastWarnMs = Number.NEGATIVE_INFINITY;
  /** Lines formed since the meters were last told (told in bulk: a metric update costs more than a line). */
  private formedPrimary = 0;
  private formedShadow = 0;
  private lastMetersMs = 0;
  /** The ISO time of the last line, reused within the same millisecond. */
  private timeMs = Number.NaN;
  private timeIso = '';
  /** The record `fill` writes: set around each writeWith (one fill function, no closure per line). */
  private pending: PredictionRecord | undefined;
  private readonly fill = (buf: Buffer, at: number): number => this.encoder.encodeInto(this.pending!, this.timeIso, buf, at);

  /** The log `settings.predictionLog` asks for; undefined when it is `off`. */
  static open(deps: PredictionLogDeps): PredictionLog | undefined {
    return deps.settings.predictionLog === 'off' ? undefined : new PredictionLog(deps);
  }

  private constructor(private readonly deps: PredictionLogDeps) {
    const s = deps.settings;
    this.file = new LineFile({
      destination: s.predictionLog,
      ...rotationOf(s),
      nowMs: deps.nowMs,
      onDropped: (reason, lines, err) => {
        this.tellMeters();
        this.dropped(reason, lines, err);
        deps.meters.buffered(this.file.buffered);
      },
      onWritten: (lines, bytes) => {
        this.tellMeters();
        deps.meters.written(lines, bytes);
        deps.meters.buffered(this.file.buffered);
      },
      onTrouble: (message, err) => deps.appLog.warn({ err: err.message, destination: s.predictionLog }, message),
    });
  }

  /** The data plane observer (DataPlane.addObserver). */
  readonly observe = (event: PredictionEvent): void => {
    if (event.modelKnown && !this.deps.enabledFor(event.model)) return;
    if (event.shadow) this.formedShadow++;
    else this.formedPrimary++;
    const now = this.deps.nowMs();
    if (now !== this.timeMs) {
      this.timeMs = now;
      this.timeIso = new Date(now).toISOString();
    }
    const record = (this.pending = toRecord(event, this.seq++, this.run));
    this.file.writeWith(lineBound(record, this.timeIso), this.fill);
    this.pending = undefined;
    if (now - this.lastMetersMs >= METERS_EVERY_MS) {
      this.tellMeters();
      this.deps.meters.buffered(this.file.buffered);
    }
  };

  /** Formed lines reach the meters before any write or drop of theirs is reported. */
  private tellMeters(): void {
    this.lastMetersMs = this.deps.nowMs();
    if (this.formedPrimary > 0) this.deps.meters.formed('primary', this.formedPrimary);
    if (this.formedShadow > 0) this.deps.meters.formed('shadow', this.formedShadow);
    this.formedPrimary = this.formedShadow = 0;
  }

  /** Writes what is buffered (bounded by max(1 s, drain timeout)) and closes; idempotent. */
  async close(): Promise<void> {
    this.tellMeters();
    await this.file.close();
  }

  private dropped(reason: DropReason, lines: number, err?: Error): void {
    this.deps.meters.dropped(reason, lines);
    this.droppedSinceWarn += lines;
    const now = this.deps.nowMs();
    if (now - this.lastWarnMs < DROP_WARN_EVERY_MS) return;
    this.deps.appLog.warn(
      { reason, dropped: this.droppedSinceWarn, destination: this.deps.settings.predictionLog, ...(err ? { err: err.message } : {}) },
      'prediction log lines dropped (counted in sluice_prediction_log_dropped_total)',
    );
    this.droppedSinceWarn = 0;
    this.lastWarnMs = now;
  }
}
