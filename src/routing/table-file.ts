// models/<name>/routing.json: its wire form, checked strictly, and its atomic write.
//
//   {"primary": "2", "shadows": [{"version": "3", "percent": 25}], "previousPrimary": "1"}
//
// Versions are decimal strings on the wire (as OIP spells model_version); `primary` may be absent
// (the newest READY version answers); `previousPrimary` is what rollback returns to. Whether the
// versions exist and are READY is not this module's business: the admin API checks that.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { SluiceError } from '../errors.js';
import type { RoutingTable, ShadowShare } from './plan.js';

/** A routing table as routing.json holds it: the plan's table plus the primary before the last change. */
export interface StoredRouting extends RoutingTable {
  readonly previousPrimary?: number;
}

/** The file's name in a model directory. */
export const ROUTING_FILE = 'routing.json';

/** How many shadow versions one model may mirror to at once. */
export const MAX_SHADOWS = 8;
const VERSION = '^[1-9][0-9]{0,8}$';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    primary: { type: 'string', pattern: VERSION },
    previousPrimary: { type: 'string', pattern: VERSION },
    shadows: {
      type: 'array',
      maxItems: MAX_SHADOWS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['version', 'percent'],
        properties: { version: { type: 'string', pattern: VERSION }, percent: { type: 'number', minimum: 0, maximum: 100 } },
      },
    },
  },
};

/** Request paths: allErrors stays off (DESIGN §1); the first problem is reported. */
const validate = new Ajv({ strict: true }).compile(schema);

function describe(e: ErrorObject | undefined): string {
  if (e === undefined) return '(root): invalid routing';
  const at = e.instancePath || '(root)';
  if (e.keyword === 'additionalProperties') return `${at}: unknown property "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  if (e.keyword === 'pattern') return `${at}: must be a version: a positive integer as a string, such as "2"`;
  if (e.keyword === 'minimum' || e.keyword === 'maximum') return `${at}: must be a share from 0 to 100`;
  if (e.keyword === 'type') {
    const t = String((e.params as { type: string }).type);
    // ajv's number type refuses NaN and Infinity too.
    return `${at}: must be ${t === 'number' ? 'a finite number (a share from 0 to 100)' : t === 'string' ? 'a string' : t === 'object' ? 'an object' : t === 'array' ? 'an array' : t}`;
  }
  if (e.keyword === 'required') return `${at}: "${String((e.params as { missingProperty: string }).missingProperty)}" is required`;
  return `${at}: ${e.message ?? 'is invalid'}`;
}

/**
 * Checks a parsed routing object (routing.json, or an admin PUT body). Throws SLUICE_ERR_ROUTING_INVALID
 * with one detail naming the JSON path (NaN and Infinity, which msgpack could carry, are refused).
 */
export function parseRouting(raw: unknown): StoredRouting {
  if (!validate(raw)) {
    const detail = describe(validate.errors?.[0]);
    throw new SluiceError('SLUICE_ERR_ROUTING_INVALID', `invalid routing: ${detail}`, { details: [detail] });
  }
  const r = raw as { primary?: string; previousPrimary?: string; shadows?: { version: string; percent: number }[] };
  const shadows: ShadowShare[] = (r.shadows ?? []).map((s) => ({ version: Number(s.version), percent: s.percent }));
  const seen = new Set<number>();
  shadows.forEach((s, i) => {
    if (seen.has(s.version)) throw invalid(`/shadows/${i}/version: version ${s.version} is listed twice`);
    seen.add(s.version);
  });
  const primary = r.primary === undefined ? undefined : Number(r.primary);
  if (primary !== undefined && seen.has(primary)) throw invalid(`/shadows: version ${primary} is the primary; it cannot shadow itself`);
  return Object.freeze({
    ...(primary === undefined ? {} : { primary }),
    shadows: Object.freeze(shadows),
    ...(r.previousPrimary === undefined ? {} : { previousPrimary: Number(r.previousPrimary) }),
  });
}

/** The wire form (routing.json and the admin API): versions as strings. */
export function routingToWire(r: StoredRouting): Record<string, unknown> {
  return {
    primary: r.primary === undefined ? null : String(r.primary),
    shadows: r.shadows.map((s) => ({ version: String(s.version), percent: s.percent })),
    previousPrimary: r.previousPrimary === undefined ? null : String(r.previousPrimary),
  };
}

/** The text routing.json gets: the wire form without nulls, one trailing newline. */
export function routingFileText(r: StoredRouting): string {
  const wire = routingToWire(r);
  for (const k of Object.keys(wire)) if (wire[k] === null) delete wire[k];
  return `${JSON.stringify(wire, null, 2)}\n`;
}

/**
 * Writes `text` to `file` so that a reader (another replica's watcher, a crash) sees the old
 * file or the new one, never a part: a temporary file in the same directory, fsync, rename over,
 * fsync of the directory. The temporary file is removed when anything fails.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

function invalid(detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_ROUTING_INVALID', `invalid routing: ${detail}`, { details: [detail] });
}

/**
 * A model directory's routing.json for a job outside the gateway (the retrain job, train/retrain.ts
 * RoutingFiles): read (no file: no primary, no shadows), and written after the same check the
 * gateway's read makes (a file it would refuse routes to the newest version), atomically.
 */
export const routingFiles = {
  maxShadows: MAX_SHADOWS,
  read(modelDir: string): StoredRouting {
    const file = path.join(modelDir, ROUTING_FILE);
    return existsSync(file) ? parseRouting(JSON.parse(readFileSync(file, 'utf8'))) : { shadows: [] };
  },
  async write(modelDir: string, routing: StoredRouting): Promise<void> {
    const text = routingFileText(routing);
    parseRouting(JSON.parse(text));
    await writeFileAtomic(path.join(modelDir, ROUTING_FILE), text);
  },
};
