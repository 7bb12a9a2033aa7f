// The prediction log (DESIGN §8): one JSON line per prediction event — every answered request
// and every shadow answer — in pino's line format, on its own destination, never the app log's.
//
// It observes the data plane, so it runs a tick after each answer and can neither delay nor fail
// one. Per prediction the event loop pays for the record (typed-array copies of the tensors,
// made by the data plane) and its copy into a shared ring (record-ring.ts); a writer thread
// (log-worker.ts) turns it into its line (line-bytes.ts) and writes the file (line-file.ts).
// Under load the main thread is the server's limit while the other core has room (bench/README.md,
// predlog), so the JSON is made there. Nothing is lost silently: a line is written or counted as
// dropped — `buffer_full` when the ring or the file's buffer is full (each holds half of
// --prediction-log-buffer-bytes), `write_error` when a write fails (or the writer thread died),
// `closed` for what shutdown could not write in time — and memory stays bounded.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SluiceSettings } from '../config/config.js';
import type { PredictionEvent } from '../dataplane/prediction-event.js';
import { rotationOf, type DropReason } from './line-file.js';
import type { LogWorkerData, LogWorkerReport } from './log-worker.js';
import { toRecord } from './record.js';
import { ringBuffers, RingWriter } from './record-ring.js';

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
  /** The writer thread's entry; log-worker.js beside this module unless a test gives another. */
  readonly workerFile?: URL;
}

/** At most one app-log warning about dropped lines per this many ms (the metric counts each). */
const DROP_WARN_EVERY_MS = 10_000;
/** The meters are told at least this often while lines are formed, and this long after the last one. */
const METERS_EVERY_MS = 100;
/** close() waits this long beyond the file's own close timeout before it stops the writer thread. */
const WORKER_GRACE_MS = 2_000;
const WORKER_FILE = new URL('./log-worker.js', import.meta.url);

export class PredictionLog {
  private seq = 0;
  private readonly run = randomBytes(4).toString('hex');
  private readonly ring: RingWriter;
  private readonly worker: Worker;
  /** The writer thread is gone (it failed, or close() ended it): records are dropped as write_error. */
  private workerGone = false;
  private closeStarted = false;
  private closedWaiter: (() => void) | undefined;
  private readonly closeTimeoutMs: number;
  /** Bytes the writer thread's file buffer held at its last report. */
  private fileBuffered = 0;
  /** Records pushed into the ring, and those the writer thread reported written or dropped. */
  private pushed = 0;
  private accounted = 0;
  private droppedSinceWarn = 0;
  private lastWarnMs = Number.NEGATIVE_INFINITY;
  /** Lines formed since the meters were last told (told in bulk: a metric update costs more than a line). */
  private formedPrimary = 0;
  private formedShadow = 0;
  private lastMetersMs = 0;
  private metersTimer: NodeJS.Timeout | undefined;

  /** The log `settings.predictionLog` asks for; undefined when it is `off`. */
  static open(deps: PredictionLogDeps): PredictionLog | undefined {
    return deps.settings.predictionLog === 'off' ? undefined : new PredictionLog(deps);
  }

  private constructor(private readonly deps: PredictionLogDeps) {
    const s = deps.settings;
    const rotation = rotationOf(s);
    const half = Math.max(2048, Math.floor(rotation.bufferBytes / 2));
    this.closeTimeoutMs = rotation.closeTimeoutMs;
    const ring = ringBuffers(half);
    this.ring = new RingWriter(ring);
    const workerData: LogWorkerData = { ring, file: { destination: s.predictionLog, ...rotation, bufferBytes: half } };
    this.worker = new Worker(deps.workerFile ?? WORKER_FILE, { workerData, name: 'sluice prediction log' });
    this.worker.unref(); // close() ends it; it must not keep a stopped process up
    this.worker.on('message', (m: LogWorkerReport) => this.onReport(m));
    this.worker.on('error', (err) => deps.appLog.warn({ err: err.message, destination: s.predictionLog }, 'prediction log writer thread failed'));
    this.worker.on('exit', () => {
      this.workerGone = true;
      // Records it took or never got and did not report are lost with it: counted.
      if (!this.closeStarted) this.lost('write_error');
      this.wakeCloser();
    });
  }

  /** Ends close()'s wait: the thread said 'closed', or is gone. */
  private wakeCloser(): void {
    const waiter = this.closedWaiter;
    this.closedWaiter = undefined;
    waiter?.();
  }

  private onReport(m: LogWorkerReport): void {
    if (m.type === 'closed') {
      this.wakeCloser();
      return;
    }
    this.tellMeters();
    for (const t of m.troubles) this.deps.appLog.warn({ err: t.err, destination: this.deps.settings.predictionLog }, t.message);
    for (const [reason, lines] of Object.entries(m.dropped) as [DropReason, number][]) {
      this.accounted += lines;
      this.dropped(reason, lines, m.error);
    }
    this.accounted += m.writtenLines;
    if (m.writtenLines > 0) this.deps.meters.written(m.writtenLines, m.writtenBytes);
    this.fileBuffered = m.buffered;
    this.deps.meters.buffered(this.buffered());
  }

  private buffered(): number {
    return this.ring.held() + this.fileBuffered;
  }

  /** The data plane observer (DataPlane.addObserver). */
  readonly observe = (event: PredictionEvent): void => {
    if (event.modelKnown && !this.deps.enabledFor(event.model)) return;
    if (event.shadow) this.formedShadow++;
    else this.formedPrimary++;
    const now = this.deps.nowMs();
    const record = toRecord(event, this.seq++, this.run);
    if (this.closeStarted) this.dropped('closed', 1);
    else if (this.workerGone) this.dropped('write_error', 1, 'the prediction log writer thread is gone');
    else if (this.ring.push(record, now)) this.pushed++;
    else this.dropped('buffer_full', 1);
    if (now - this.lastMetersMs >= METERS_EVERY_MS) this.meterTick();
    else this.metersTimer ??= setTimeout(this.meterTick, METERS_EVERY_MS).unref();
  };

  /** Tells the meters what was formed (lines after the last tick would otherwise wait for the next event). */
  private readonly meterTick = (): void => {
    clearTimeout(this.metersTimer);
    this.metersTimer = undefined;
    this.tellMeters();
    this.deps.meters.buffered(this.buffered());
  };

  /** Formed lines reach the meters before any write or drop of theirs is reported. */
  private tellMeters(): void {
    this.lastMetersMs = this.deps.nowMs();
    if (this.formedPrimary > 0) this.deps.meters.formed('primary', this.formedPrimary);
    if (this.formedShadow > 0) this.deps.meters.formed('shadow', this.formedShadow);
    this.formedPrimary = this.formedShadow = 0;
  }

  /**
   * Has the writer thread write what is buffered (bounded by max(1 s, drain timeout)) and close
   * the file; idempotent. Records still in the ring when the thread must be stopped count as closed.
   */
  async close(): Promise<void> {
    if (this.closeStarted) return;
    this.closeStarted = true;
    clearTimeout(this.metersTimer);
    this.metersTimer = undefined;
    this.tellMeters();
    if (!this.workerGone) {
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<void>((resolve) => (this.closedWaiter = resolve));
      this.worker.postMessage({ type: 'close' });
      const timedOut = await Promise.race([done.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.closeTimeoutMs + WORKER_GRACE_MS)))]);
      clearTimeout(timer);
      // After 'closed' its last report is in; a write stuck in the kernel must not hold the exit,
      // so the thread is stopped without waiting for it.
      void this.worker.terminate();
      if (timedOut) this.lost('closed');
    }
    this.deps.meters.buffered(0);
  }

  /** Counts every pushed record the writer thread has not reported as written or dropped. */
  private lost(reason: DropReason): void {
    const n = this.pushed - this.accounted;
    this.accounted = this.pushed;
    if (n > 0) this.dropped(reason, n, reason === 'write_error' ? 'the prediction log writer thread stopped' : undefined);
  }

  /** `err`: the message of what lost them, for the warning. */
  private dropped(reason: DropReason, lines: number, err?: string): void {
    this.deps.meters.dropped(reason, lines);
    this.droppedSinceWarn += lines;
    const now = this.deps.nowMs();
    if (now - this.lastWarnMs < DROP_WARN_EVERY_MS) return;
    this.deps.appLog.warn(
      { reason, dropped: this.droppedSinceWarn, destination: this.deps.settings.predictionLog, ...(err ? { err } : {}) },
      'prediction log lines dropped (counted in sluice_prediction_log_dropped_total)',
    );
    this.droppedSinceWarn = 0;
    this.lastWarnMs = now;
  }
}
