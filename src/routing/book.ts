// Every model's routing table, as models/<name>/routing.json says (DESIGN §4, §7). The repository
// watcher hands each file text it sees to seen(); the admin API writes through write(). Several
// replicas may share one repository: each picks a change up from the file, none holds its own truth.
//
// Contracts:
// - A missing file means the default table (newest READY primary, no shadows), silently; a file
//   that cannot be parsed means the default too, with one warning per distinct text, and is
//   never overwritten by that fallback (an operator's file is theirs to fix).
// - write() changes memory only after the file is on disk (atomically): a failed write changes nothing.
// - Writes to one model are serialized: a second waits for the first.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors.js';
import { DEFAULT_ROUTING } from './plan.js';
import { parseRouting, ROUTING_FILE, routingFileText, writeFileAtomic, type StoredRouting } from './table-file.js';


export interface RoutingLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

interface Entry {
  table: StoredRouting;
  /** The file text this table came from (undefined: no file). */
  text: string | undefined;
  /** When the table last changed (ms since the epoch): comparison counts restart then. */
  sinceMs: number;
  writing: Promise<void>;
}

export class RoutingBook {
  private readonly models = new Map<string, Entry>();

  constructor(
    private readonly root: string,
    private readonly log: RoutingLog,
    private readonly nowMs: () => number = Date.now,
    /** Told after every change of a model's table (from the file or a write). */
    private readonly onChange?: (model: string, table: StoredRouting) => void,
  ) {}

  /** The model's table: what its routing.json says, or the default. */
  table(model: string): StoredRouting {
    return this.models.get(model)?.table ?? DEFAULT_ROUTING;
  }

  /** When the model's table last changed (ms since the epoch); the book's start when never. */
  sinceMs(model: string): number {
    return this.entry(model).sinceMs;
  }

  /**
   * Re-reads the model's routing.json (the repository watcher calls this at each scan). Queued
   * behind this model's writes, so a read that started before a write can never put the older
   * table back after it.
   */
  refresh(model: string): Promise<void> {
    const e = this.entry(model);
    const next = e.writing.then(async () => {
      const text = await readFile(path.join(this.root, model, ROUTING_FILE), 'utf8').catch(() => undefined);
      this.seen(model, text);
    });
    e.writing = next.catch(() => undefined);
    return next;
  }

  /** The versions the model's table names: kept served whatever versionPolicy says. */
  versionsNamed(model: string): number[] {
    const t = this.table(model);
    return [...(t.primary === undefined ? [] : [t.primary]), ...t.shadows.map((s) => s.version), ...(t.previousPrimary === undefined ? [] : [t.previousPrimary])];
  }

  /** A routing.json text read (undefined: the file is absent). Idempotent for equal texts. */
  seen(model: string, text: string | undefined): void {
    const e = this.entry(model);
    if (text === e.text) return;
    const before = e.text;
    e.text = text;
    if (text === undefined) {
      if (before !== undefined) this.log.warn({ model }, 'routing.json is gone; the newest READY version answers, no shadows');
      this.set(model, e, DEFAULT_ROUTING);
      return;
    }
    let table: StoredRouting;
    try {
      table = parseRouting(JSON.parse(text));
    } catch (err) {
      const why = err instanceof SluiceError ? err.message : `not JSON: ${(err as Error).message}`;
      this.log.warn({ model, file: path.join(model, ROUTING_FILE) }, `routing.json is invalid (${why}); the newest READY version answers, no shadows, until it is fixed`);
      this.set(model, e, DEFAULT_ROUTING);
      return;
    }
    this.log.info({ model, routing: routingFileText(table).trim() }, 'routing loaded');
    this.set(model, e, table);
  }

  /** Writes the model's routing.json atomically, then takes the table into force. */
  write(model: string, table: StoredRouting): Promise<void> {
    const e = this.entry(model);
    const next = e.writing.then(async () => {
      const text = routingFileText(table);
      await writeFileAtomic(path.join(this.root, model, ROUTING_FILE), text);
      e.text = text;
      this.set(model, e, table);
    });
    e.writing = next.catch(() => undefined);
    return next;
  }

  /** The model is gone from the repository. */
  forget(model: string): void {
    this.models.delete(model);
  }

  private entry(model: string): Entry {
    let e = this.models.get(model);
    if (e === undefined) {
      e = { table: DEFAULT_ROUTING, text: undefined, sinceMs: this.nowMs(), writing: Promise.resolve() };
      this.models.set(model, e);
    }
    return e;
  }

  private set(model: string, e: Entry, table: StoredRouting): void {
    e.table = table;
    e.sinceMs = this.nowMs();
    this.onChange?.(model, table);
  }
}
