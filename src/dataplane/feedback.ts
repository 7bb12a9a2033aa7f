// POST /v2/models/{m}/feedback: ground-truth labels for earlier requests, by request id: live
// accuracy per version, each shadow pair's accuracy, and the feedback log (loop.ts). Body `{"id": "...", "label": 3}` (a class
// index, or a class name when the model declares `classes`; a list of labels for a request of
// several rows), or a list of such objects (at most MAX_FEEDBACK_ITEMS).
import { Ajv } from 'ajv';
import { parseJsonDocument } from '../codec/json-body.js';
import { SluiceError } from '../errors.js';

export const MAX_FEEDBACK_ITEMS = 1000;

/** What feedback is credited against (loop.ts: live accuracy, the shadow board, the feedback log). */
export interface FeedbackSink {
  label(model: string, id: string, truth: number | string | readonly (number | string)[]): { ok: true } | { ok: false; reason: string };
}

export interface FeedbackAnswer {
  /** Labels that matched an answer still kept (live accuracy or a shadow comparison). */
  accepted: number;
  /** One entry per label that did not: its id and why (unknown_id: no answer kept for it). */
  refused: { id: string; reason: string }[];
}

const label = { type: ['integer', 'string'], minimum: -2147483648, maximum: 2147483647, maxLength: 256 };
const item = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'label'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 256 }, label: { anyOf: [label, { type: 'array', minItems: 1, maxItems: 65536, items: label }] } },
};
const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile({ anyOf: [item, { type: 'array', minItems: 1, maxItems: MAX_FEEDBACK_ITEMS, items: item }] });

/** Parses and credits one feedback body. Throws SLUICE_ERR_REQUEST_INVALID for a malformed body. */
export function applyFeedback(sink: FeedbackSink | undefined, model: string, bytes: Uint8Array): FeedbackAnswer {
  const body = parseJsonDocument(bytes);
  if (!validate(body)) {
    throw new SluiceError('SLUICE_ERR_REQUEST_INVALID', 'invalid feedback: expected {"id": string, "label": integer or class name (or a list of them)} or a list of those', {
      details: [`${validate.errors?.[0]?.instancePath || '(root)'}: ${validate.errors?.[0]?.message ?? 'is invalid'}`],
    });
  }
  const items = (Array.isArray(body) ? body : [body]) as { id: string; label: number | string | (number | string)[] }[];
  const answer: FeedbackAnswer = { accepted: 0, refused: [] };
  for (const it of items) {
    const r = sink === undefined ? { ok: false as const, reason: 'unknown_id' } : sink.label(model, it.id, it.label);
    if (r.ok) answer.accepted++;
    else answer.refused.push({ id: it.id, reason: r.reason });
  }
  return answer;
}
