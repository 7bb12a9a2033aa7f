// Pure helpers of the admin API's routing changes: which version is the effective primary, how
// previousPrimary follows a change, and the answer's wire form.
import type { ModelEntry } from '../repository/repository.js';
import { routingFileText, routingToWire, type StoredRouting } from '../routing/table-file.js';

/** The routing wire form (routing/table-file.ts routingToWire) plus `since`: ISO time of the last change. */
export type RoutingAnswer = ReturnType<typeof routingToWire> & { since: string };

export function routingAnswer(table: StoredRouting, sinceMs: number): RoutingAnswer {
  return { ...routingToWire(table), since: new Date(sinceMs).toISOString() };
}

/** The version unversioned requests go to: the table's primary, else the newest READY version (undefined: none). */
export function effectivePrimary(entry: ModelEntry<unknown>, table: Pick<StoredRouting, 'primary'>): number | undefined {
  if (table.primary !== undefined) return table.primary;
  let newest: number | undefined;
  for (const v of entry.versions.values()) if (v.state === 'READY' && (newest === undefined || v.version > newest)) newest = v.version;
  return newest;
}

/**
 * The table to write: `next` with previousPrimary set by the server. When the effective primary
 * changes (before → after), the one before becomes previousPrimary; otherwise the old
 * previousPrimary stays. A previousPrimary equal to the new primary is dropped (nothing to roll back to).
 */
export function withPreviousPrimary(
  old: StoredRouting,
  next: Pick<StoredRouting, 'primary' | 'shadows'>,
  before: number | undefined,
  after: number | undefined,
): StoredRouting {
  const carried = before !== undefined && before !== after ? before : old.previousPrimary;
  const previousPrimary = carried === after ? undefined : carried;
  return Object.freeze({
    ...(next.primary === undefined ? {} : { primary: next.primary }),
    shadows: Object.freeze([...next.shadows]),
    ...(previousPrimary === undefined ? {} : { previousPrimary }),
  });
}

/** Whether two tables would write the same routing.json. */
export function sameRouting(a: StoredRouting, b: StoredRouting): boolean {
  return routingFileText(a) === routingFileText(b);
}

/**
 * Why `version` cannot be named in a routing table (`at` is the body's JSON path), or nothing
 * when it is a READY version of the model.
 */
export function readyProblem(entry: ModelEntry<unknown>, version: number, at: string): string[] {
  const v = entry.versions.get(version);
  if (v === undefined) return [`${at}: version ${version} of model "${entry.name}" is not loaded (no such version, or outside versionPolicy: load it first)`];
  if (v.state !== 'READY') return [`${at}: version ${version} is ${v.state}${v.reason ? ` (${v.reason})` : ''}, not READY`];
  return [];
}
