// The feedback log (docs/drift.md): one JSON line per labelled request, what the retraining job
// joins with the prediction log's inputs by request id:
//
//   {"level":30,"time":"2026-12-02T10:00:00.000Z","model":"breast-cancer","id":"r-17","label":[1]}
//
// `label` holds class indices, one per row (names were mapped through the model's `classes`).
// It rides the prediction log's LineFile (same rotation: PATH, PATH.1, …; same bounded buffer), so
// a line is written or counted as dropped (sluice_feedback_log_dropped_total), never lost silently.
// Every well-formed label is logged, matched or not: the job can join one whose answer the
// gateway no longer holds in memory (the prediction log still has it).
import type { SluiceSettings } from '../config/config.js';
import { LineFile, rotationOf, type DropReason, type RotationSettings } from './line-file.js';

export interface FeedbackLogDeps {
  readonly settings: Pick<SluiceSettings, 'feedbackLog'> & RotationSettings;
  readonly appLog: { warn(obj: object, msg: string): void };
  onDropped(reason: DropReason, lines: number): void;
  nowMs(): number;
}

export class FeedbackLog {
  private readonly file: LineFile;

  /** The log `settings.feedbackLog` asks for; undefined when it is `off`. */
  static open(deps: FeedbackLogDeps): FeedbackLog | undefined {
    return deps.settings.feedbackLog === 'off' ? undefined : new FeedbackLog(deps);
  }

  private constructor(deps: FeedbackLogDeps) {
    const s = deps.settings;
    this.file = new LineFile({
      destination: s.feedbackLog,
      ...rotationOf(s),
      nowMs: deps.nowMs,
      onDropped: (reason, lines, err) => {
        deps.onDropped(reason, lines);
        deps.appLog.warn({ reason, lines, destination: s.feedbackLog, ...(err ? { err: err.message } : {}) }, 'feedback log lines dropped');
      },
      onWritten: () => {},
      onTrouble: (message, err) => deps.appLog.warn({ err: err.message, destination: s.feedbackLog }, message),
    });
    this.nowMs = deps.nowMs;
  }

  private readonly nowMs: () => number;

  /** One labelled request; `labels` are class indices, one per row. */
  write(model: string, id: string, labels: readonly number[]): void {
    const time = new Date(this.nowMs()).toISOString();
    this.file.write(`{"level":30,"time":"${time}","model":${JSON.stringify(model)},"id":${JSON.stringify(id)},"label":${JSON.stringify(labels)}}\n`);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
