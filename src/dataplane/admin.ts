// The admin API's use cases (DESIGN §5 Admin, §7), transport-agnostic: the admin listener
// (transport/admin) authenticates, copies path parameters and the body, and calls these.
//
// Contracts:
// - Names are looked up, never trusted: a model is one the repository knows (it came from a
//   directory listing), so no path parameter or body value is ever joined into a file path; a
//   version is `^[1-9][0-9]{0,8}$` (else 400). `..`, `%2F`, NUL, absolute paths: 404 or 400.
// - Changes to one model are serialized (routing, promote, rollback, load, unload): a check
//   ("not the primary") and the change it guards cannot interleave with another admin change.
// - A refused change changes nothing: checks run before the routing file is written, and
//   RoutingBook.write changes memory only once the file is on disk.
// - Switching the primary is one table swap in the routing book: requests in flight finish on the
//   version they started on, the next one routes to the new primary; nothing fails.
// - Every change is one event (ModelEventRecorder), which is also one app-log line.
import { parseJsonBody } from '../codec/json-body.js';
import { SluiceError } from '../errors.js';
import type { ModelEntry, VersionEntry } from '../repository/repository.js';
import { parseRouting, type StoredRouting } from '../routing/table-file.js';
import type { PairReport } from '../shadow/pair-stats.js';
import type { ModelEventRecorder, ModelEvent, ModelEventInput } from './model-events.js';
import { parseEmptyBody, parsePathVersion, parseVersionBody } from './admin-requests.js';
import { effectivePrimary, readyProblem, routingAnswer, sameRouting, withPreviousPrimary, type RoutingAnswer } from './admin-routing.js';

/** What the admin API needs of a served version's handle. */
export interface AdminHandle {
  readonly provider: string;
}

/** The repository as the admin API uses it (ModelRepository). */
export interface AdminRepository {
  list(): readonly ModelEntry<AdminHandle>[];
  get(model: string): ModelEntry<AdminHandle> | undefined;
  pin(model: string, version: number): void;
  unpin(model: string, version: number): void;
  /** One scan; resolves after it, so a pinned version's load has ended (READY or UNAVAILABLE). */
  rescan(): Promise<void>;
}

/** The routing book as the admin API uses it (routing/book.ts RoutingBook). */
export interface AdminRouting {
  table(model: string): StoredRouting;
  sinceMs(model: string): number;
  /** Writes routing.json atomically, then takes the table into force; rejects and changes nothing when the write fails. */
  write(model: string, table: StoredRouting): Promise<void>;
}

/** GET /admin/models/{m}/shadow: the comparison of each (primary, shadow) pair. */
export interface ShadowReport {
  readonly model: string;
  /** ISO time the counts (re)started: they restart when the model's routing changes. */
  readonly since?: string;
  readonly pairs: readonly PairReport[];
}

/**
 * Reports the shadow comparison of a model the repository knows (shadow/). Synchronous and cheap:
 * called inside the request. Absent from AdminDeps: every model answers `{model, pairs: []}`.
 */
export type ShadowReportProvider = (model: string) => ShadowReport;

export interface AdminDeps {
  repository: AdminRepository;
  routing: AdminRouting;
  /** Where changes are recorded (the gateway's one recorder, shared with the promotion gate). */
  events: ModelEventRecorder & { list(model: string): ModelEvent[] };
  /** Monotonic ms (how long a load or unload took, in its event's numbers). */
  nowMs(): number;
  shadowReport?: ShadowReportProvider;
  /** Retrain: fire a model's trigger now (throws 409 when unconfigured or cooling down), and the recorded events. */
  retrain?: { now(model: string): unknown; events(model?: string): unknown[]; alerts(body: Uint8Array): unknown };
}

/** A version as the admin API lists it. */
export interface VersionWire {
  version: string;
  state: string;
  sha256: string | null;
  provider: string | null;
  reason: string | null;
}

export class AdminApi {
  /** Per model: the tail of its chain of admin changes (keys are known model names: bounded). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: AdminDeps) {}

  /** GET /admin/models: every model by name, versions ascending, with its routing (as GET routing answers it) and config error. */
  listModels(): { models: Record<string, unknown>[] } {
    return {
      models: this.deps.repository.list().map((m) => ({
        name: m.name,
        versions: [...m.versions.values()].sort((a, b) => a.version - b.version).map(versionWire),
        routing: routingAnswer(this.deps.routing.table(m.name), this.deps.routing.sinceMs(m.name)),
        config_error: m.configError?.toWire() ?? null,
      })),
    };
  }

  /** GET /admin/models/{m}/routing: the routing wire form plus `since` (ISO time of the last change). */
  getRouting(model: string): RoutingAnswer {
    this.entry(model);
    return routingAnswer(this.deps.routing.table(model), this.deps.routing.sinceMs(model));
  }

  /**
   * PUT /admin/models/{m}/routing: `{"primary"?, "shadows"?}` (routing/table-file.ts), every
   * version named a READY version of the model (else 400 SLUICE_ERR_ROUTING_INVALID naming it).
   * `previousPrimary` is the server's: refused in the body, set to the effective primary before
   * when the effective primary changes.
   */
  async putRouting(model: string, body: Uint8Array): Promise<RoutingAnswer> {
    this.entry(model);
    const raw = parseJsonBody(body);
    if (Object.hasOwn(raw, 'previousPrimary')) {
      throw routingInvalid('/previousPrimary: set by the server (the primary before the last change); leave it out');
    }
    const wanted = parseRouting(raw);
    return this.serialized(model, async () => {
      const entry = this.entry(model);
      const problems: string[] = [];
      if (wanted.primary !== undefined) problems.push(...readyProblem(entry, wanted.primary, '/primary'));
      wanted.shadows.forEach((s, i) => problems.push(...readyProblem(entry, s.version, `/shadows/${i}/version`)));
      if (problems.length > 0) throw new SluiceError('SLUICE_ERR_ROUTING_INVALID', `invalid routing: ${problems[0]}`, { details: problems });
      const shares = wanted.shadows.map((s) => `${s.version} at ${s.percent}%`).join(', ') || 'none';
      return this.change(model, entry, { primary: wanted.primary, shadows: wanted.shadows }, (from, to) => ({
        kind: 'routing',
        by: 'admin',
        reason: `routing set: primary ${wanted.primary ?? `newest READY (${to ?? 'none'})`}, shadows ${shares}`,
        ...versions(from, to),
      }));
    });
  }

  /** POST /admin/models/{m}/promote `{"version": "2"}`: it becomes the primary and leaves the shadows. */
  async promote(model: string, body: Uint8Array): Promise<RoutingAnswer> {
    this.entry(model);
    return this.promoteVersion(model, parseVersionBody(body), 'admin');
  }

  /**
   * The promotion gate's promotion (shadow/board.ts): the same change as an admin promote,
   * recorded with `by: "gate"`, the gate's reason and the numbers it passed on.
   */
  promoteByGate(model: string, version: number, reason: string, numbers: Readonly<Record<string, number>>): Promise<RoutingAnswer> {
    return this.promoteVersion(model, version, 'gate', reason, numbers);
  }

  private promoteVersion(model: string, version: number, by: 'admin' | 'gate', why?: string, numbers?: Readonly<Record<string, number>>): Promise<RoutingAnswer> {
    return this.serialized(model, async () => {
      const entry = this.entry(model);
      const v = entry.versions.get(version);
      if (v === undefined) throw unknownVersion(model, version);
      if (v.state !== 'READY') throw refused(`version ${version} of "${model}" is ${describeState(v)}; only a READY version can be promoted`);
      const old = this.deps.routing.table(model);
      return this.change(model, entry, { primary: version, shadows: old.shadows.filter((s) => s.version !== version) }, (from, to) => ({
        kind: by === 'gate' ? 'gate' : 'promote',
        by,
        reason: `version ${to} promoted to primary${from === undefined ? '' : `, replacing ${from}`}${why === undefined ? '' : ` (${why})`}`,
        ...versions(from, to),
        ...(numbers === undefined ? {} : { numbers }),
      }));
    });
  }

  /** POST /admin/models/{m}/rollback: back to previousPrimary (READY), which swaps with the primary. */
  async rollback(model: string, body: Uint8Array): Promise<RoutingAnswer> {
    this.entry(model);
    parseEmptyBody(body, 'rollback');
    return this.serialized(model, async () => {
      const entry = this.entry(model);
      const old = this.deps.routing.table(model);
      const target = old.previousPrimary;
      if (target === undefined) throw refused(`"${model}" has no previous primary to roll back to`);
      const v = entry.versions.get(target);
      if (v?.state !== 'READY') {
        throw refused(`the previous primary, version ${target} of "${model}", is ${v ? describeState(v) : 'not in the repository'}; load it first`);
      }
      return this.change(model, entry, { primary: target, shadows: old.shadows.filter((s) => s.version !== target) }, (from, to) => ({
        kind: 'rollback',
        by: 'admin',
        reason: `rolled back to version ${to}${from === undefined ? '' : ` from ${from}`}`,
        ...versions(from, to),
      }));
    });
  }

  /**
   * POST /admin/models/{m}/versions/{v}/load: pins the version (served even outside
   * versionPolicy.latest) and answers once its load ended: 200 with the version when READY, else
   * its load failure (the message names the state and reason). 404 when no such version directory.
   */
  async load(model: string, rawVersion: string, body: Uint8Array): Promise<{ model: string } & VersionWire> {
    this.entry(model);
    const version = parsePathVersion(rawVersion);
    parseEmptyBody(body, 'load');
    return this.serialized(model, async () => {
      const startMs = this.deps.nowMs();
      this.deps.repository.pin(model, version);
      await this.deps.repository.rescan();
      const v = this.entry(model).versions.get(version);
      if (v === undefined) {
        this.deps.repository.unpin(model, version);
        throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `model "${model}" has no version directory ${version} with a model.onnx`);
      }
      const ms = Math.round(this.deps.nowMs() - startMs);
      const ready = v.state === 'READY';
      this.record(model, { kind: 'load', by: 'admin', to: String(version), reason: ready ? `version ${version} loaded and pinned` : `version ${version} failed to load: ${describeState(v)}`, numbers: { ms } });
      if (!ready) {
        const failure = v.failure;
        throw new SluiceError(failure?.code ?? 'SLUICE_ERR_MODEL_LOAD_FAILED', `version ${version} of "${model}" did not load: ${describeState(v)}`, { details: failure?.details, cause: failure });
      }
      return { model, ...versionWire(v) };
    });
  }

  /**
   * POST /admin/models/{m}/versions/{v}/unload: unpins the version and unloads it (its queue
   * drains first); 409 when it is the effective primary or a shadow in the routing.
   */
  async unload(model: string, rawVersion: string, body: Uint8Array): Promise<{ model: string } & VersionWire> {
    this.entry(model);
    const version = parsePathVersion(rawVersion);
    parseEmptyBody(body, 'unload');
    return this.serialized(model, async () => {
      const entry = this.entry(model);
      if (!entry.versions.has(version)) throw unknownVersion(model, version);
      const table = this.deps.routing.table(model);
      if (effectivePrimary(entry, table) === version) {
        throw refused(`version ${version} is the primary of "${model}"; promote another version (or roll back) first`);
      }
      const shadow = table.shadows.find((s) => s.version === version);
      if (shadow !== undefined) throw refused(`version ${version} is a shadow of "${model}" (${shadow.percent}%); take it out of the routing first`);
      const startMs = this.deps.nowMs();
      this.deps.repository.unpin(model, version);
      await this.deps.repository.rescan();
      const v = this.entry(model).versions.get(version);
      if (v === undefined) throw unknownVersion(model, version);
      this.record(model, { kind: 'unload', by: 'admin', from: String(version), reason: `version ${version} unloaded: ${describeState(v)}`, numbers: { ms: Math.round(this.deps.nowMs() - startMs) } });
      return { model, ...versionWire(v) };
    });
  }

  /** GET /admin/models/{m}/shadow. */
  shadow(model: string): ShadowReport {
    this.entry(model);
    return this.deps.shadowReport?.(model) ?? { model, pairs: [] };
  }

  /** POST /admin/models/{m}/retrain (body empty or `{}`): the event, its actions still running. */
  retrain(model: string, body: Uint8Array): { event: unknown } {
    this.entry(model);
    parseEmptyBody(body, 'retrain');
    if (this.deps.retrain === undefined) throw new SluiceError('SLUICE_ERR_RETRAIN_NOT_CONFIGURED', 'retraining is not wired in this gateway');
    return { event: this.deps.retrain.now(model) };
  }

  /** POST /admin/alerts: an Alertmanager webhook; each firing `sluice_action="retrain"` alert fires its model once. */
  alerts(body: Uint8Array): unknown {
    if (this.deps.retrain === undefined) throw new SluiceError('SLUICE_ERR_RETRAIN_NOT_CONFIGURED', 'retraining is not wired in this gateway');
    return this.deps.retrain.alerts(body);
  }

  /** GET /admin/retrain/events: every model's retrain events, oldest first (the last 1000). */
  retrainEvents(): { events: unknown[] } {
    return { events: this.deps.retrain?.events() ?? [] };
  }

  /** GET /admin/models/{m}/events: newest last. */
  events(model: string): { events: ModelEvent[] } {
    this.entry(model);
    return { events: this.deps.events.list(model) };
  }

  /**
   * Writes `next` (previousPrimary derived here) unless it equals the table in force; records the
   * event `describe` builds from the effective primary before and after.
   */
  private async change(
    model: string,
    entry: ModelEntry<AdminHandle>,
    next: Pick<StoredRouting, 'primary' | 'shadows'>,
    describe: (from: string | undefined, to: string | undefined) => ModelEventInput,
  ): Promise<RoutingAnswer> {
    const old = this.deps.routing.table(model);
    const before = effectivePrimary(entry, old);
    const table = withPreviousPrimary(old, next, before, effectivePrimary(entry, next));
    if (!sameRouting(old, table)) {
      await this.deps.routing.write(model, table);
      const after = effectivePrimary(entry, table);
      this.record(model, describe(before === undefined ? undefined : String(before), after === undefined ? undefined : String(after)));
    }
    return routingAnswer(this.deps.routing.table(model), this.deps.routing.sinceMs(model));
  }

  private record(model: string, event: ModelEventInput): void {
    this.deps.events.record(model, event);
  }

  /** The model's entry, or 404. */
  private entry(model: string): ModelEntry<AdminHandle> {
    const entry = this.deps.repository.get(model);
    if (entry === undefined) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model.slice(0, 200)}"`);
    return entry;
  }

  /** Runs `fn` after every admin change of `model` queued before it; a failure does not block the next. */
  private serialized<T>(model: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(model) ?? Promise.resolve()).then(fn);
    const tail = next.catch(() => undefined);
    this.queues.set(model, tail);
    void tail.then(() => {
      if (this.queues.get(model) === tail) this.queues.delete(model);
    });
    return next;
  }
}

function versionWire(v: VersionEntry<AdminHandle>): VersionWire {
  return { version: String(v.version), state: v.state, sha256: v.sha256 ?? null, provider: v.handle?.provider ?? null, reason: v.reason ?? null };
}

function versions(from: string | undefined, to: string | undefined): { from?: string; to?: string } {
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

function describeState(v: VersionEntry<AdminHandle>): string {
  return v.reason ? `${v.state} (${v.reason})` : v.state;
}

function unknownVersion(model: string, version: number): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `model "${model}" has no version ${version}`);
}

function refused(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_ADMIN_REFUSED', message);
}

function routingInvalid(detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_ROUTING_INVALID', `invalid routing: ${detail}`, { details: [detail] });
}
