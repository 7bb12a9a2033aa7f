// From ajv's errors to the details clients get: one line per problem, each starting with the
// JSON Pointer of the offending field, e.g. `/instances/3/mean_radius: must be <= 60`.
//
// Runs only after a request failed (never for a valid one). The caller bounds the work first
// (boundedView): ajv with allErrors keeps validating items after maxItems failed and reports
// every property that additionalProperties refuses, so neither cap alone bounds the error list.

import { MAX_ERROR_DETAILS } from '../errors.js';
import type { ErrorObject } from 'ajv';

/** The top-level properties of a /v1 request (the schema's `properties`). */
const TOP_LEVEL = ['instances', 'id', 'parameters'];
const ARTICLE: Record<string, string> = { number: 'a number', integer: 'an integer', object: 'an object', array: 'an array', string: 'a string' };
const INSTANCE_PATH = /^\/instances\/\d+$/;

export function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** A client-supplied key as a JSON Pointer token, truncated so it cannot bloat the answer. */
export function pointerToken(key: string): string {
  const k = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return k.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** One detail line for one ajv error (ajv run with `verbose`, so `data` is the offending value). */
export function describeError(e: ErrorObject): string {
  const path = e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${path}/${pointerToken(String(p.missingProperty))}: is required`;
    case 'additionalProperties': {
      const key = `${path}/${pointerToken(String(p.additionalProperty))}`;
      if (INSTANCE_PATH.test(path)) return `${key}: is not a feature of this model`;
      return `${key}: is not a property of this request (expected ${TOP_LEVEL.join(', ')})`;
    }
    case 'type': {
      const at = path === '' ? '(root)' : path;
      const v = e.data;
      if (typeof v === 'number' && !Number.isFinite(v)) return `${at}: must be a finite number, got ${v}`;
      const want = ARTICLE[String(p.type)] ?? String(p.type);
      return `${at}: must be ${want}, got ${typeof v === 'number' ? v : jsonType(v)}`;
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => JSON.stringify(v));
      const shown = allowed.length > 10 ? [...allowed.slice(0, 10), '…'] : allowed;
      return `${path}: must be one of ${shown.join(', ')}`;
    }
    case 'minItems':
      return `${path}: must hold at least ${String(p.limit)} instance${p.limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `${path}: must hold at most ${String(p.limit)} instances (the model's maxBatchSize), got ${Array.isArray(e.data) ? e.data.length : '?'}`;
    default:
      return `${path === '' ? '(root)' : path}: ${e.message ?? e.keyword}`;
  }
}

/**
 * Caps details at MAX_ERROR_DETAILS: when `total` problems exceed it, the last line says how many
 * were left out (`open`: there are more than `total`, because boundedView cut keys).
 */
export function capDetails(details: string[], total = details.length, open = false): string[] {
  if (total <= MAX_ERROR_DETAILS && !open) return details.slice(0, MAX_ERROR_DETAILS);
  const kept = details.slice(0, MAX_ERROR_DETAILS - 1);
  const left = total - kept.length;
  kept.push(`… ${left}${open ? '+' : ''} more problem${left === 1 && !open ? '' : 's'} not shown`);
  return kept;
}

/**
 * A view of a failed body on which an allErrors run reports a bounded number of errors: any
 * object (the body, an instance) with more than `keyCap` own keys is replaced by a copy holding
 * its first `keyCap` keys. `cut` says whether anything was dropped. Instances beyond `maxRows`
 * are not looked at: the caller refuses such a body before running ajv.
 */
export function boundedView(body: Record<string, unknown>, maxRows: number, keyCap: number): { view: Record<string, unknown>; cut: boolean } {
  let cut = false;
  const trim = (o: Record<string, unknown>): Record<string, unknown> => {
    let n = 0;
    for (const k in o) if (++n > keyCap) break;
    if (n <= keyCap) return o;
    cut = true;
    const copy: Record<string, unknown> = {};
    n = 0;
    for (const k in o) {
      if (n++ === keyCap) break;
      copy[k] = o[k];
    }
    return copy;
  };
  const view = trim(body);
  const rows = view.instances;
  if (Array.isArray(rows)) {
    let copied: unknown[] | undefined;
    for (let i = 0; i < rows.length && i < maxRows; i++) {
      const r: unknown = rows[i];
      if (r === null || typeof r !== 'object' || Array.isArray(r)) continue;
      const t = trim(r as Record<string, unknown>);
      if (t !== r) {
        copied ??= rows.slice();
        copied[i] = t;
      }
    }
    if (copied !== undefined) return { view: { ...view, instances: copied }, cut };
  }
  return { view, cut };
}
