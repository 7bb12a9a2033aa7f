// What changed what serves, per model: routing changes, promotions, rollbacks, explicit loads and
// unloads (the admin API) and the promotion gate's decisions. GET /admin/models/{m}/events reads
// them back; each is also one app-log line ("model event"), so the history outlives the buffer.
//
// Contracts:
// - Bounded: at most MAX_EVENTS_PER_MODEL per model, the oldest dropped first (the log keeps it).
//   Models are keyed by name; callers record only for models the repository knows.
// - record() never throws and never awaits: safe inside a request or a gate's timer.
// - Events come back oldest first, each a plain JSON object (the wire form).

/** Which change: `gate` is the promotion gate's decision (promoted or held back). */
export type ModelEventKind = 'routing' | 'promote' | 'rollback' | 'load' | 'unload' | 'gate';
/** Who made it: an admin API call, or the promotion gate. */
export type ModelEventBy = 'admin' | 'gate';

/** What a caller records; the recorder adds the time. */
export interface ModelEventInput {
  readonly kind: ModelEventKind;
  /** One sentence for an operator. */
  readonly reason: string;
  readonly by: ModelEventBy;
  /** The version before (the primary before a promote/rollback), as a decimal string. */
  readonly from?: string;
  /** The version after (or the version loaded/unloaded), as a decimal string. */
  readonly to?: string;
  /** Figures behind the decision (a gate's samples and agreement, a routing's shares). */
  readonly numbers?: Readonly<Record<string, number>>;
}

/** The wire form: ModelEventInput plus `time` (ISO 8601, UTC). */
export interface ModelEvent extends ModelEventInput {
  readonly time: string;
}

/** The seam the admin API and the promotion gate record through. */
export interface ModelEventRecorder {
  /** Stores the event (dropping the model's oldest beyond the bound), logs it, and returns it. */
  record(model: string, event: ModelEventInput): ModelEvent;
}

export interface ModelEventLog {
  info(obj: object, msg: string): void;
}

export const MAX_EVENTS_PER_MODEL = 256;

export class ModelEvents implements ModelEventRecorder {
  private readonly byModel = new Map<string, ModelEvent[]>();

  constructor(
    private readonly log: ModelEventLog,
    /** Epoch ms; injected so tests can fix the time. */
    private readonly nowMs: () => number = Date.now,
    private readonly maxPerModel: number = MAX_EVENTS_PER_MODEL,
  ) {}

  record(model: string, input: ModelEventInput): ModelEvent {
    const event: ModelEvent = Object.freeze({ time: new Date(this.nowMs()).toISOString(), ...input });
    let list = this.byModel.get(model);
    if (list === undefined) this.byModel.set(model, (list = []));
    list.push(event);
    // One shift per record keeps the bound; the list is small enough that shift() is cheap.
    if (list.length > this.maxPerModel) list.shift();
    this.log.info({ model, event }, 'model event');
    return event;
  }

  /** The model's events, oldest first (a copy). */
  list(model: string): ModelEvent[] {
    return [...(this.byModel.get(model) ?? [])];
  }
}
