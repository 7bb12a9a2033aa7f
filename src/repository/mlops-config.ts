// model.json `drift` and `retrain` (docs/drift.md): how a model's live data is compared with its
// reference profile, and what fires a retrain and with which actions. The schema fragments are
// part of model-file.ts's schema; the defaults are filled here, once, at parse.
//
// Everything an action does is named here or in the server's flags: a request can neither pick a
// URL, a path nor a command. The webhook's URL must also be on --retrain-webhook-allow.

import type { CommandSettings, DriftSettings, RetrainSettings, WebhookSettings } from '../types.js';

export type { CommandSettings, DriftSettings, RetrainSettings, WebhookSettings } from '../types.js';

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
