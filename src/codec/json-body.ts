// Parsing of untrusted JSON request bodies (HTTP and WebSocket text frames).
//
// Contract: parseJsonBody returns a plain object tree that is safe to hand to the request
// validator and to anything downstream that recurses (JSON.stringify in the prediction log,
// object spreads): no key named __proto__, constructor or prototype at any depth, and no
// nesting deeper than `maxDepth`. Everything else is left to the validator. parseJsonBody may hand
// `inputs[i].data` over as a typed array (json-lift.ts): only where the validator would have
// taken the JSON array unchanged.
//
// Perf: JSON.parse (V8's parser is iterative, so a 3M-deep `[[[[...` parses without a stack
// overflow) does the heavy lifting. The tree walk that enforces the two rules runs only when
// a cheap native pre-scan of the text says a rule could be broken:
//  - forbidden keys: the text contains one of the words, or a `\u` escape (`"\u005f_proto__"`
//    parses to `__proto__` without the word appearing in the text);
//  - depth: the text holds more than `maxDepth` openers (`[` or `{`). Depth can never exceed the
//    number of openers, so the common flat-tensor request (5 openers) never walks.
// A walk costs one typeof per array element (an element of a number array is never descended),
// and its recursion is bounded by maxDepth + 1 frames. A body the addon lifted skips both
// pre-scans when its scan saw no suspect key (json-lift.ts, keysClean): that scan read every key
// and refused anything deeper than maxDepth. A plain body (json-lift.ts: only id and inputs of
// name, shape, datatype and data, all ASCII) is not parsed here at all: the addon's scan describes
// its whole tree, and its ASCII-only text needs no UTF-8 check either.

import { isUtf8 } from 'node:buffer';
import { SluiceError } from '../errors.js';
import { Lifted, liftData, restoreData } from './json-lift.js';

export const DEFAULT_MAX_JSON_DEPTH = 16;

export interface ParseJsonOptions {
  /** Deepest allowed nesting of arrays/objects; the top-level object is depth 1. Default 16. */
  maxDepth?: number;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses an untrusted JSON body whose top level must be an object or an array (a list body,
 * such as a batch of feedback labels). Throws SluiceError: SLUICE_ERR_JSON_MALFORMED (invalid
 * UTF-8, not JSON, or a bare value at top level), SLUICE_ERR_JSON_FORBIDDEN_KEY,
 * SLUICE_ERR_JSON_TOO_DEEP. A leading BOM is ignored.
 */
export function parseJsonDocument(
  body: Uint8Array | string,
  opts: ParseJsonOptions = {},
): Record<string, unknown> | unknown[] {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  return parseText(typeof body === 'string' ? body : utf8Bytes(body).toString('utf8'), maxDepth);
}

/**
 * parseJsonDocument with the top level an object (every OIP body): throws
 * SLUICE_ERR_JSON_MALFORMED for a top-level array too. The native core may lift `inputs[i].data`
 * arrays into typed arrays of their datatype (json-lift.ts); the validator treats both forms alike.
 */
export function parseJsonBody(body: Uint8Array | string, opts: ParseJsonOptions = {}): Record<string, unknown> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  let parsed: Record<string, unknown> | unknown[];
  if (typeof body === 'string') {
    parsed = parseText(body, maxDepth);
  } else {
    const buf = asBuffer(body);
    const lifted = liftData(buf, maxDepth);
    if (lifted !== undefined && !(lifted instanceof Lifted)) return lifted; // plain: ASCII, so UTF-8
    checkUtf8(buf);
    parsed = lifted === undefined ? parseText(buf.toString('utf8'), maxDepth) : parseText(lifted.skeleton, maxDepth, lifted.keysClean);
    if (lifted !== undefined) restoreData(parsed as Record<string, unknown>, lifted, buf);
  }
  if (Array.isArray(parsed)) {
    throw new SluiceError('SLUICE_ERR_JSON_MALFORMED', 'body must be a JSON object at top level');
  }
  return parsed;
}

/** The body as a Buffer (no copy). */
function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Throws SLUICE_ERR_JSON_MALFORMED unless `buf` is valid UTF-8. */
function checkUtf8(buf: Buffer): void {
  if (!isUtf8(buf)) throw new SluiceError('SLUICE_ERR_JSON_MALFORMED', 'body is not valid UTF-8');
}

/** The body as a Buffer (no copy); throws SLUICE_ERR_JSON_MALFORMED unless it is valid UTF-8. */
function utf8Bytes(body: Uint8Array): Buffer {
  const buf = asBuffer(body);
  checkUtf8(buf);
  return buf;
}

/** `checked`: the addon's scan already proved both rules for this text (json-lift.ts, keysClean). */
function parseText(source: string, maxDepth: number, checked = false): Record<string, unknown> | unknown[] {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (err instanceof RangeError) {
      // Not expected from V8's iterative parser; kept so a future engine cannot turn depth into a 500.
      throw new SluiceError('SLUICE_ERR_JSON_TOO_DEEP', `JSON nesting deeper than ${maxDepth}`, { cause: err });
    }
    const why = err instanceof Error ? err.message.slice(0, 200) : 'parse error';
    throw new SluiceError('SLUICE_ERR_JSON_MALFORMED', 'body is not valid JSON', { details: [why], cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new SluiceError('SLUICE_ERR_JSON_MALFORMED', 'body must be a JSON object at top level');
  }

  if (checked) return parsed as Record<string, unknown> | unknown[];
  // Depth and keys before the top-level type, so a 100k-deep `[[[...` reads as TOO_DEEP.
  const keys = mayHaveForbiddenKey(text);
  if (keys || mayExceedDepth(text, maxDepth)) {
    try {
      walk(parsed, 1, maxDepth, keys);
    } catch (hit) {
      if (!(hit instanceof Hit)) throw hit;
      const path = hit.segments.reverse().join('');
      throw hit.code === 'SLUICE_ERR_JSON_TOO_DEEP'
        ? new SluiceError(hit.code, `JSON nesting deeper than ${maxDepth}`, { details: [`${path}: too deep`] })
        : new SluiceError(hit.code, 'forbidden key in body (__proto__, constructor or prototype)', {
            details: [`${path}: forbidden key`],
          });
    }
  }
  return parsed as Record<string, unknown> | unknown[];
}

function mayHaveForbiddenKey(text: string): boolean {
  return (
    text.includes('__proto__') ||
    text.includes('constructor') ||
    text.includes('prototype') ||
    text.includes('\\u')
  );
}

/** True when the text holds more than maxDepth openers: a necessary condition for depth > maxDepth. */
function mayExceedDepth(text: string, maxDepth: number): boolean {
  let openers = 0;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) {
    if (++openers > maxDepth) return true;
  }
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    if (++openers > maxDepth) return true;
  }
  return false;
}

/** Thrown inside the walk; each frame prepends its path segment while unwinding (error path only). */
class Hit {
  readonly segments: string[] = [];
  constructor(readonly code: 'SLUICE_ERR_JSON_TOO_DEEP' | 'SLUICE_ERR_JSON_FORBIDDEN_KEY') {}
}

function walk(node: object, depth: number, maxDepth: number, keys: boolean): void {
  if (depth > maxDepth) throw new Hit('SLUICE_ERR_JSON_TOO_DEEP');
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (typeof child === 'object' && child !== null) {
        try {
          walk(child, depth + 1, maxDepth, keys);
        } catch (hit) {
          if (hit instanceof Hit) hit.segments.push(`/${i}`);
          throw hit;
        }
      }
    }
    return;
  }
  const rec = node as Record<string, unknown>;
  // for-in over a JSON.parse result enumerates exactly its own keys (no enumerable inherited ones).
  for (const key in rec) {
    if (keys && FORBIDDEN_KEYS.has(key)) {
      const hit = new Hit('SLUICE_ERR_JSON_FORBIDDEN_KEY');
      hit.segments.push(`/${pointerSegment(key)}`);
      throw hit;
    }
    const child = rec[key];
    if (typeof child === 'object' && child !== null) {
      try {
        walk(child, depth + 1, maxDepth, keys);
      } catch (hit) {
        if (hit instanceof Hit) hit.segments.push(`/${pointerSegment(key)}`);
        throw hit;
      }
    }
  }
}

/** RFC 6901 escaping, with the key truncated so a huge key cannot bloat the error body. */
function pointerSegment(key: string): string {
  const short = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return short.replace(/~/g, '~0').replace(/\//g, '~1');
}
