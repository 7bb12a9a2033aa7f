// POST /admin/alerts: an Alertmanager webhook receiver (docs/deploy.md, fleet mode). Prometheus
// sees the whole fleet's drift from the replicas' summed bin counters; its alert reaches one
// replica (Alertmanager posts to the admin Service), which fires the model's retrain once.
//
// Only what the payload may choose: which model, among those whose model.json has a `retrain`
// section, by the alert's `model` label, for alerts labelled `sluice_action="retrain"`. What runs is
// still the model's static actions. An alert instance (fingerprint + startsAt) fires at most once:
// Alertmanager re-sends a firing alert every repeat_interval.
import { Ajv } from 'ajv';
import { parseJsonDocument } from '../codec/json-body.js';
import { SluiceError } from '../errors.js';

export interface RetrainAlert {
  readonly model: string;
  readonly alertname: string;
  /** Identifies the alert instance: fingerprint (or the label set) and when it started. */
  readonly key: string;
}

const label = { type: 'string', maxLength: 1024 };
const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile({
  type: 'object',
  required: ['alerts'],
  properties: {
    alerts: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        required: ['status', 'labels'],
        properties: {
          status: { enum: ['firing', 'resolved'] },
          labels: { type: 'object', maxProperties: 64, additionalProperties: label },
          startsAt: label,
          fingerprint: label,
        },
      },
    },
  },
});

/** The firing alerts that ask for a retrain. Throws SLUICE_ERR_ADMIN_REQUEST_INVALID for a malformed body. */
export function retrainAlerts(bytes: Uint8Array): RetrainAlert[] {
  const body = parseJsonDocument(bytes);
  if (!validate(body)) {
    const e = validate.errors?.[0];
    throw new SluiceError('SLUICE_ERR_ADMIN_REQUEST_INVALID', 'not an Alertmanager webhook body (version 4: {"alerts": [{"status", "labels", ...}]})', {
      details: [`${e?.instancePath || '(root)'}: ${e?.message ?? 'is invalid'}`],
    });
  }
  const alerts = (body as { alerts: { status: string; labels: Record<string, string>; startsAt?: string; fingerprint?: string }[] }).alerts;
  return alerts
    .filter((a) => a.status === 'firing' && a.labels.sluice_action === 'retrain' && typeof a.labels.model === 'string')
    .map((a) => ({
      model: a.labels.model!,
      alertname: a.labels.alertname ?? '',
      key: `${a.fingerprint ?? JSON.stringify(Object.entries(a.labels).sort())}@${a.startsAt ?? ''}`,
    }));
}
