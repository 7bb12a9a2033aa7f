// model.json `drift` and `retrain` (docs/drift.md): how a model's live data is compared with its
// reference profile, and what fires a retrain and with which actions. The schema fragments are
// part of model-file.ts's schema; the defaults are filled here, once, at parse.
//
// Everything an action does is named here or in the server's flags: a request can neither pick a
// URL, a path nor a command. The webhook's URL must also be on --retrain-webhook-allow.

/** model.json `drift`. */
export interface DriftSettings {
  /** false: no drift tracking for this model (a reference.json alone turns it on). */
  readonly enabled: boolean;
  /** The count window: the last N rows. A trigger evaluation happens every N rows. */
  readonly windowRows: number;
  /** The time window: the rows of the last N seconds. */
  readonly windowSeconds: number;
  /** A window's overall score (drift/monitor.ts overallScore) at or over this counts as drifted. */
  readonly threshold: number;
  /** Hysteresis: the trigger fires after this many consecutive drifted windows... */
  readonly consecutiveWindows: number;
  /** ...and re-arms only after a window scores under this (default threshold / 2). */
  readonly rearmBelow: number;
  /**
   * At most this many requests a second are binned (a token bucket, one second deep); beyond it
   * drift is measured on an even sample of the traffic, so its cost stays bounded under any load.
   * 0: every request.
   */
  readonly maxSampledPerSecond: number;
}

export interface WebhookSettings {
  readonly url: string;
  readonly timeoutMs: number;
  /** Extra attempts after a failed one (network error, timeout, 5xx, 429). */
  readonly retries: number;
  /** Wait before retry k: backoffMs · 2^(k−1), at most 30 s. */
  readonly backoffMs: number;
}

export interface CommandSettings {
  /** Run without a shell; "node" as argv[0] means this node binary. */
  readonly argv: readonly string[];
  readonly timeoutMs: number;
}

/** model.json `retrain`. */
export interface RetrainSettings {
  /** Fire when drift stays over its threshold (`drift.consecutiveWindows` windows). */
  readonly onDrift: boolean;
  /** Fire when the primary's live accuracy over its last `accuracyWindowRows` labelled rows falls under this. */
  readonly accuracyFloor?: number;
  /** Labelled rows the accuracy floor needs before it can fire. */
  readonly minLabeledRows: number;
  /** Live accuracy is over the last N labelled rows of each version. */
  readonly accuracyWindowRows: number;
  /** Fire every N seconds regardless (0: no schedule). */
  readonly scheduleSeconds: number;
  /** After an event, none fires for this long (an admin call is refused with 409 meanwhile). */
  readonly cooldownSeconds: number;
  /** Share (0..100) of traffic the retrained version shadows (read by the retraining job). */
  readonly shadowPercent: number;
  /** The base training data, relative to the model directory (read by the retraining job). */
  readonly baseData?: string;
  readonly webhook?: WebhookSettings;
  readonly command?: CommandSettings;
}

const RELATIVE_PATH = '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9_./-]{1,256}$';

export const DRIFT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    windowRows: { type: 'integer', minimum: 10, maximum: 1_000_000 },
    windowSeconds: { type: 'integer', minimum: 1, maximum: 31 * 86_400 },
    threshold: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
    consecutiveWindows: { type: 'integer', minimum: 1, maximum: 1000 },
    rearmBelow: { type: 'number', minimum: 0, maximum: 100 },
    maxSampledPerSecond: { type: 'integer', minimum: 0, maximum: 10_000_000 },
  },
} as const;

export const RETRAIN_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    onDrift: { type: 'boolean' },
    accuracyFloor: { type: 'number', minimum: 0, maximum: 1 },
    minLabeledRows: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    accuracyWindowRows: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    scheduleSeconds: { type: 'integer', minimum: 0, maximum: 366 * 86_400 },
    cooldownSeconds: { type: 'integer', minimum: 0, maximum: 366 * 86_400 },
    shadowPercent: { type: 'number', minimum: 0, maximum: 100 },
    baseData: { type: 'string', pattern: RELATIVE_PATH },
    webhook: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
        timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
        retries: { type: 'integer', minimum: 0, maximum: 20 },
        backoffMs: { type: 'integer', minimum: 0, maximum: 60_000 },
      },
    },
    command: {
      type: 'object',
      additionalProperties: false,
      required: ['argv'],
      properties: {
        argv: { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', minLength: 1, maxLength: 4096 } },
        timeoutMs: { type: 'integer', minimum: 1, maximum: 86_400_000 },
      },
    },
  },
} as const;

export const DRIFT_DEFAULTS = Object.freeze({ enabled: true, windowRows: 1000, windowSeconds: 300, threshold: 0.25, consecutiveWindows: 3, maxSampledPerSecond: 2000 });

export function driftSettings(raw: Partial<DriftSettings> | undefined): DriftSettings {
  const d = { ...DRIFT_DEFAULTS, ...raw };
  return { ...d, rearmBelow: raw?.rearmBelow ?? d.threshold / 2 };
}

type RawRetrain = Partial<Omit<RetrainSettings, 'webhook' | 'command'>> & { webhook?: Partial<WebhookSettings> & { url: string }; command?: Partial<CommandSettings> & { argv: string[] } };

export function retrainSettings(raw: RawRetrain | undefined): RetrainSettings | undefined {
  if (raw === undefined) return undefined;
  return {
    onDrift: raw.onDrift ?? true,
    ...(raw.accuracyFloor === undefined ? {} : { accuracyFloor: raw.accuracyFloor }),
    minLabeledRows: raw.minLabeledRows ?? 100,
    accuracyWindowRows: raw.accuracyWindowRows ?? 500,
    scheduleSeconds: raw.scheduleSeconds ?? 0,
    cooldownSeconds: raw.cooldownSeconds ?? 3600,
    shadowPercent: raw.shadowPercent ?? 100,
    ...(raw.baseData === undefined ? {} : { baseData: raw.baseData }),
    ...(raw.webhook === undefined ? {} : { webhook: { timeoutMs: 5000, retries: 3, backoffMs: 500, ...raw.webhook } }),
    ...(raw.command === undefined ? {} : { command: { timeoutMs: 600_000, ...raw.command } }),
  };
}
