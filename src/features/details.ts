// From ajv's errors to the details clients get: one line per problem, each starting with the
// JSON Pointer of the offending field, e.g. `/instances/3/mean_radius: must be <= 60`.
//
// Runs only after a request failed (never for a valid one). The caller bounds the work first
// (boundedView): ajv with allErrors keeps validating items after maxItems failed and reports
// every property that additionalProperties refuses, so neither cap alone bounds the error list.
//
// Order (explainErrors): the mistakes a client made come first (wrong types, out-of-range and
// not-in-enum values, unknown keys), the "is required" lines last, since a missing feature is
// often only the consequence of a misspelt key. Within each group: envelope problems (/id,
// /parameters, /instances itself), then instance by instance, each in feature column order with
// its unknown keys after its features in the order sent. MAX_ERROR_DETAILS applies after ordering.

import { editDistance as boundedEditDistance } from '../util/edit-distance.js';
import { MAX_ERROR_DETAILS } from '../errors.js';
import type { ErrorObject } from 'ajv';

/** The top-level properties of a /v1 request (the schema's `properties`). */
const TOP_LEVEL = ['instances', 'id', 'parameters'];
const ARTICLE: Record<string, string> = { number: 'a number', integer: 'an integer', object: 'an object', array: 'an array', string: 'a string' };
const INSTANCE_PATH = /^\/instances\/\d+$/;
/** Edits (insert, delete, substitute) a key may be away from a feature name to be taken for it. */
const MAX_EDITS = 2;

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

/** What ordering and suggestions need of one model's features; built once per model version at load. */
export interface FeatureIndex {
  /** Feature name → column. */
  readonly columns: ReadonlyMap<string, number>;
  /** Per column: the name folded (see fold). */
  readonly folded: readonly string[];
  /**
   * Keys longer than this are never taken for a feature (twice the longest name, room for a
   * separator between every letter). Bounds the cost of folding and comparing client keys.
   */
  readonly maxNearKeyLength: number;
}

export function featureIndex(names: readonly string[]): FeatureIndex {
  const longest = names.reduce((n, s) => Math.max(n, s.length), 0);
  return { columns: new Map(names.map((n, j) => [n, j])), folded: names.map(fold), maxNearKeyLength: 2 * longest + MAX_EDITS };
}

interface Ranked {
  e: ErrorObject;
  required: boolean;
  /** Instance index; -1 for envelope problems (/id, /parameters, /instances, unknown top-level keys). */
  row: number;
  /** Feature column; -1 for the instance itself, columns.size for an unknown key. */
  col: number;
  /** Position in ajv's list: the last tie-break, so the order is stable by construction. */
  at: number;
}

const INSTANCES = '/instances/';

/** `a` after `b` in the order of the file comment. */
const after = (a: Ranked, b: Ranked): boolean =>
  a.required !== b.required ? a.required : a.row !== b.row ? a.row > b.row : a.col !== b.col ? a.col > b.col : a.at > b.at;

/**
 * The details of an allErrors run over a view boundedView built (`open`: it cut keys), ordered as
 * the file comment says and capped by capDetails. An unknown key near a missing required feature
 * of the same instance says `did you mean "<feature>"?`, and that feature's line points back.
 *
 * Cost, n = errors.length (bounded by the caller): two passes over the errors, no sort of all n
 * and no regex per path (that first version cost 1.3-2× the ajv run itself on the 64 × 148 errors
 * of a flooded digits batch; this one 0.4-0.7×, 1.5-2.7 ms on a loaded 2-core box). Pass one keeps
 * the MAX_ERROR_DETAILS first errors in a sorted buffer, at worst O(n × MAX_ERROR_DETAILS); as ajv
 * reports instance by instance, most errors rank after the buffer's last and cost only a keyword
 * test or a row parse. Pass two gathers, for the instances of the shown lines only, their missing features and unknown keys
 * (one map look-up per such error). Names are compared only for the shown lines, each against one
 * instance's missing features or unknown keys, each comparison O(name length × 5) (util/edit-distance.ts).
 */
export function explainErrors(errors: readonly ErrorObject[], index: FeatureIndex, open: boolean): string[] {
  const shown: Ranked[] = [];
  const width = index.columns.size;
  for (let at = 0; at < errors.length; at++) {
    const e = errors[at] as ErrorObject;
    const last = shown.length === MAX_ERROR_DETAILS ? shown[MAX_ERROR_DETAILS - 1] : undefined;
    const required = e.keyword === 'required';
    if (last !== undefined && required && !last.required) continue;
    // The row, parsed by hand; `end`: where its digits end (the path's end or the `/` of a key).
    const path = e.instancePath;
    let row = -1;
    let end = INSTANCES.length;
    if (path.startsWith(INSTANCES)) {
      let n = 0;
      for (let c = path.charCodeAt(end); c >= 48 && c <= 57; c = path.charCodeAt(++end)) n = n * 10 + c - 48;
      if (end > INSTANCES.length && (end === path.length || path.charCodeAt(end) === 47)) row = n;
    }
    if (last !== undefined && required === last.required && row > last.row) continue;
    let col = -1;
    const p = e.params as Record<string, unknown>;
    if (row < 0) {
      // An envelope problem: ranked by group and ajv's order only.
    } else if (required) col = index.columns.get(String(p.missingProperty)) ?? width;
    else if (e.keyword === 'additionalProperties') col = width;
    else if (end < path.length) {
      const next = path.indexOf('/', end + 1);
      col = index.columns.get(path.slice(end + 1, next < 0 ? path.length : next)) ?? width;
    }
    const r: Ranked = { e, required, row, col, at };
    if (last !== undefined && after(r, last)) continue;
    let i = shown.length;
    while (i > 0 && after(shown[i - 1] as Ranked, r)) i--;
    shown.splice(i, 0, r);
    if (shown.length > MAX_ERROR_DETAILS) shown.pop();
  }
  // Keyed by instance path: a required or additionalProperties error's path is the instance's.
  const rows = new Map<string, { missing: string[]; unknown: string[]; folded: string[] }>();
  for (const { e, row } of shown) {
    if (row >= 0 && (e.keyword === 'required' || e.keyword === 'additionalProperties')) rows.set(e.instancePath, { missing: [], unknown: [], folded: [] });
  }
  if (rows.size > 0) {
    for (const e of errors) {
      const p = e.params as Record<string, unknown>;
      if (e.keyword === 'required') rows.get(e.instancePath)?.missing.push(String(p.missingProperty));
      else if (e.keyword === 'additionalProperties') {
        const near = rows.get(e.instancePath);
        if (near === undefined) continue;
        const key = String(p.additionalProperty);
        near.unknown.push(key);
        near.folded.push(key.length > index.maxNearKeyLength ? '' : fold(key));
      }
    }
  }
  const lines = shown.map(({ e }) => {
    const line = describeError(e);
    const near = rows.get(e.instancePath);
    const p = e.params as Record<string, unknown>;
    if (near === undefined || (e.keyword !== 'required' && e.keyword !== 'additionalProperties')) return line;
    if (e.keyword === 'additionalProperties') {
      const feature = nearest(String(p.additionalProperty), near.missing, index);
      return feature === undefined ? line : `${line}; did you mean ${JSON.stringify(feature)}?`;
    }
    // Point back only to a key whose own suggestion is this feature, so the two lines agree.
    const feature = String(p.missingProperty);
    const col = index.columns.get(feature);
    let key: string | undefined;
    let best = MAX_EDITS + 1;
    for (let i = 0; col !== undefined && i < near.unknown.length; i++) {
      const k = near.unknown[i] as string;
      const s = k.length > index.maxNearKeyLength ? best : nearness(k, near.folded[i] as string, feature, col, index);
      if (s < best) [key, best] = [k, s];
    }
    return key !== undefined && nearest(key, near.missing, index) === feature ? `${line} (misspelt as ${JSON.stringify(key)}?)` : line;
  });
  return capDetails(lines, errors.length, open);
}

/** The feature among `names` (column order) nearest to `key`; the first of equals; undefined when none is near. */
function nearest(key: string, names: readonly string[], index: FeatureIndex): string | undefined {
  if (key.length > index.maxNearKeyLength) return undefined;
  const folded = fold(key);
  let best: string | undefined;
  let bestScore = MAX_EDITS + 1;
  for (const name of names) {
    const col = index.columns.get(name);
    const s = col === undefined ? bestScore : nearness(key, folded, name, col, index);
    if (s < bestScore) [best, bestScore] = [name, s];
  }
  return best;
}

/**
 * 0 when `key` is feature `name` (at column `col`) but for case, `_` and `-`; else their edit
 * distance when at most MAX_EDITS and shorter than the name (so `x` is never taken for `y`);
 * else MAX_EDITS + 1.
 */
function nearness(key: string, foldedKey: string, name: string, col: number, index: FeatureIndex): number {
  if (index.folded[col] === foldedKey) return 0;
  const d = boundedEditDistance(key, name, MAX_EDITS);
  return d < name.length ? d : MAX_EDITS + 1;
}

/** Lower-cased, without `_` and `-`: `Mean-Radius` and `mean_radius` fold alike. */
function fold(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

