// The routing step (DESIGN §3.4): which version of a model answers a request (the primary), and
// which shadow versions also get a copy of it. Pure: the caller hands in the model's routing
// table and how to find a serving version; nothing here knows the repository or the batcher.
//
// Mirroring is decided by a hash of the request id, so the same id always gets the same decision
// (stable cohorts: a client that retries, or a replay of the log, lands in the same cohort), and
// the cohorts are nested: with the same id, a 10% shadow's cohort lies inside a 25% one's.

/** One shadow version and the share of requests mirrored to it, 0..100 (fractions allowed). */
export interface ShadowShare {
  readonly version: number;
  readonly percent: number;
}

/** A model's routing: its primary (absent: the newest READY version) and its shadows. */
export interface RoutingTable {
  readonly primary?: number;
  readonly shadows: readonly ShadowShare[];
}

/** The default table: newest READY version primary, no shadows. */
export const DEFAULT_ROUTING: RoutingTable = Object.freeze({ shadows: Object.freeze([]) as readonly ShadowShare[] });

export interface RoutePlan<S> {
  readonly primary: S;
  /** Shadows whose share this request's id falls in, in table order; empty for an explicit version. */
  readonly shadows: readonly S[];
}

/** How the plan finds serving versions: `version` undefined means the default (newest READY). */
export interface VersionSource<S> {
  /** The serving version, or throws the refusal (404/503) a client should get. */
  primary(version: number | undefined): S;
  /** The shadow version when it can take a copy now, else undefined (not loaded, not READY). */
  shadow(version: number): S | undefined;
}

/**
 * The plan for one request. `explicitVersion` (a `/versions/{v}` URL) bypasses the table and is
 * never mirrored; otherwise the table's primary answers and each shadow whose share covers
 * cohortPoint(id) gets a copy. A shadow equal to the primary is skipped.
 */
export function planRoute<S>(table: RoutingTable, source: VersionSource<S>, id: string, explicitVersion: number | undefined): RoutePlan<S> {
  const primary = routePrimary(table, source, explicitVersion);
  return { primary, shadows: routeShadows(table, source, primary, id, explicitVersion) };
}

/**
 * The first half of the plan, before the request is decoded (its primary's validator decodes
 * it): the version that answers. Throws the primary's refusal (404/503).
 */
export function routePrimary<S>(table: RoutingTable, source: VersionSource<S>, explicitVersion: number | undefined): S {
  return source.primary(explicitVersion ?? table.primary);
}

/** The second half, once the request id is known: the shadows that get a copy. */
export function routeShadows<S>(table: RoutingTable, source: VersionSource<S>, primary: S, id: string, explicitVersion: number | undefined): S[] {
  if (explicitVersion !== undefined || table.shadows.length === 0) return [];
  const point = cohortPoint(id);
  const shadows: S[] = [];
  for (const s of table.shadows) {
    if (!(point < s.percent)) continue;
    const shadow = source.shadow(s.version);
    if (shadow !== undefined && shadow !== primary) shadows.push(shadow);
  }
  return shadows;
}

/**
 * Where `id` falls in [0, 100): FNV-1a over its UTF-16 code units, then murmur3's 32-bit
 * finalizer so that ids differing in one character spread over the whole range. Not for security:
 * a client choosing ids can choose its cohort, which is the point of stable cohorts.
 */
export function cohortPoint(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 0x1_0000_0000) * 100;
}
