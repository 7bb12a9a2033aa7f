// The model repository (DESIGN §4): scans models/<name>/ directories, each with an optional
// model.json and integer version directories holding model.onnx, loads the newest
// `versionPolicy.latest` versions that load, and keeps the version table that requests resolve
// against. It knows nothing of ONNX, workers or batchers: the composition root injects load/unload
// (which read the graph and resolve the effective config), and a version's handle is opaque here.
//
// Contracts:
// - A model is a directory with a model.json or at least one <version>/model.onnx. Its directory
//   gone: every version unloads and the model is forgotten (404), not kept as a ghost.
// - A version is READY only after load() resolved (sessions in every worker, warmup ran).
// - A failed load or reload never removes a serving version; the failure is kept per file
//   identity (model.onnx size and mtime, and the last valid model.json) and retried only when
//   that identity changes. A model.json edit that fails its schema changes nothing that serves:
//   the last valid file stays in force and the error is kept (configError) until the file is fixed.
// - Every state change of a version is one log line ("version <STATE>") with its reason.
// - Scans are serialized; resolve() is synchronous and always sees a consistent table.
// - A version leaving the served set turns UNLOADING: resolve() no longer returns it, and
//   unload() (which drains its queue first) runs after the newer version is READY.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors.js';
import type { ModelState } from '../types.js';
import { parseModelFile, type ModelFile } from './model-file.js';
import { sha256File } from './sha256.js';

export interface RepoLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * When /v2/health/ready says ready (always only after the first scan, and with at least one
 * model serving): `any` — every model whose model.json says `"required": true` serves;
 * `all` — every model serves, except those whose model.json says `"required": false`.
 */
export type ReadyPolicy = 'all' | 'any';

export interface RepositoryDeps<H> {
  /** Reads the graph, resolves the effective config over `file` and loads it; rejects to refuse the version. */
  load(file: ModelFile, version: number, modelPath: string, sha256: string): Promise<H>;
  /** Must drain the version's queued and running requests before releasing it. */
  unload(handle: H): Promise<void>;
  log: RepoLogger;
  onState?(model: string, version: number, state: ModelState): void;
  /**
   * Called at each scan of a model directory, before its versions are reconciled (the routing
   * book re-reads the model's routing.json then: routing is another engine's, wired by the
   * composition root). Awaited.
   */
  onModelScanned?(model: string): Promise<void>;
  /**
   * Versions that must stay served while their files exist, beyond versionPolicy.latest (the
   * versions a routing table names: primary, shadows, the previous primary for rollback).
   */
  keep?(model: string): Iterable<number>;
  /** The model left the repository (its directory is gone). */
  onModelRemoved?(model: string): void;
}

export interface RepositoryOptions {
  pollIntervalMs: number;
  readyWhen?: ReadyPolicy;
}

export interface VersionEntry<H> {
  readonly model: string;
  readonly version: number;
  state: ModelState;
  sha256?: string;
  /** Why the last load failed, while UNAVAILABLE or while an older identity keeps serving. */
  reason?: string;
  /** The error of the last failed load or reload (its code tells a config error apart). */
  failure?: SluiceError;
  handle?: H;
  /** Identity of the files the handle (or the last failure) was built from. */
  identity?: string;
  failedIdentity?: string;
}

export interface ModelEntry<H> {
  readonly name: string;
  /** The model.json in force (the last valid one), or the defaults when there is none. */
  file: ModelFile;
  /** Why the current model.json text is refused; the last valid file stays in force meanwhile. */
  configError?: SluiceError;
  /** Text of the model.json in force (undefined: none); part of each version's identity. */
  fileText?: string;
  /** Text last read, valid or not: a change is parsed (and logged) once. */
  seenText?: string;
  versions: Map<number, VersionEntry<H>>;
}

const VERSION_DIR = /^[1-9][0-9]{0,8}$/;
const NO_FILE = '<none>';

export class ModelRepository<H> {
  private readonly models = new Map<string, ModelEntry<H>>();
  private scanning: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Until the first scan ends, a model directory not yet reached would not count against readiness. */
  private firstScanDone = false;
  /** The root could not be read at the last scan (logged once per outage). */
  private rootUnreadable = false;
  private readonly pollIntervalMs: number;
  private readonly readyWhen: ReadyPolicy;
  /** Per model: versions served beside versionPolicy (pin). In memory only; a restart forgets them. */
  private readonly pinned = new Map<string, Set<number>>();
  /** Per model: versions kept out even where versionPolicy would serve them (unpin). In memory only. */
  private readonly excluded = new Map<string, Set<number>>();

  constructor(
    readonly root: string,
    private readonly deps: RepositoryDeps<H>,
    opts: RepositoryOptions,
  ) {
    this.pollIntervalMs = opts.pollIntervalMs;
    this.readyWhen = opts.readyWhen ?? 'any';
  }

  /**
   * Start-time check of the root: throws SLUICE_ERR_REPOSITORY_NOT_FOUND when it is missing or not
   * a directory (a typo must not start a server that serves nothing), warns when it is empty.
   */
  async checkRoot(): Promise<void> {
    const s = await stat(this.root).catch(() => undefined);
    if (s === undefined || !s.isDirectory()) {
      throw new SluiceError('SLUICE_ERR_REPOSITORY_NOT_FOUND', `model repository ${this.root} ${s ? 'is not a directory' : 'does not exist'} (--models / SLUICE_MODELS)`);
    }
    const entries = (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.'));
    if (entries.length === 0) {
      this.deps.log.warn({ root: this.root }, 'the model repository is empty: nothing to serve until a model directory appears (readiness stays 503)');
    }
  }

  /** First scan (loads everything it can), then polls for changes. */
  async start(): Promise<void> {
    await this.rescan();
    this.firstScanDone = true;
    if (this.closed) return;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        this.rescan().finally(() => !this.closed && tick());
      }, this.pollIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  /** One scan of the whole repository; concurrent calls queue behind each other. */
  rescan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanAll()).catch((err) => {
      this.deps.log.error({ err }, 'repository scan failed');
    });
    return this.scanning;
  }

  /** The serving version: `version` if given, else the newest READY one. Throws 404/503. */
  resolve(model: string, version?: number): VersionEntry<H> & { handle: H } {
    const entry = this.models.get(model);
    if (!entry) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model}"`);
    if (version !== undefined) {
      const v = entry.versions.get(version);
      if (!v) throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `model "${model}" has no version ${version}`);
      if (v.state !== 'READY' || !v.handle) {
        throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', `model "${model}" version ${version} is ${v.state}`, { retryAfterS: 1 });
      }
      return v as VersionEntry<H> & { handle: H };
    }
    const best = newestReady(entry);
    if (!best) throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', `model "${model}" has no READY version`, { retryAfterS: 1 });
    return best;
  }

  /**
   * Serves `version` of `model` from the next scan on, even outside versionPolicy.latest, and
   * lifts an earlier unpin; a version whose last load failed is tried again. Takes effect at the
   * next scan (await rescan()). Forgotten when the version's directory goes, and at restart.
   * Throws SLUICE_ERR_MODEL_NOT_FOUND for a model the repository does not know.
   */
  pin(model: string, version: number): void {
    const entry = this.known(model);
    this.excluded.get(model)?.delete(version);
    setOf(this.pinned, model).add(version);
    const v = entry.versions.get(version);
    if (v !== undefined) v.failedIdentity = undefined;
  }

  /**
   * Undoes a pin and keeps `version` out from the next scan on (it unloads, draining first), even
   * where versionPolicy would serve it; it still takes its policy slot, so no older version loads
   * in its place. pin() brings it back. Throws SLUICE_ERR_MODEL_NOT_FOUND like pin().
   */
  unpin(model: string, version: number): void {
    this.known(model);
    this.pinned.get(model)?.delete(version);
    setOf(this.excluded, model).add(version);
  }

  private known(model: string): ModelEntry<H> {
    const entry = this.models.get(model);
    if (!entry) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model}"`);
    return entry;
  }

  get(model: string): ModelEntry<H> | undefined {
    return this.models.get(model);
  }

  list(): ModelEntry<H>[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The first scan has ended, some model serves, and every model the policy requires serves. */
  isReady(): boolean {
    if (!this.firstScanDone) return false;
    let serving = 0;
    for (const m of this.models.values()) {
      const ready = newestReady(m) !== undefined;
      if (ready) serving++;
      else if (this.isRequired(m)) return false;
    }
    return serving > 0;
  }

  /** Whether readiness waits for this model (ReadyPolicy); an unparsable model.json counts as it would under the policy. */
  isRequired(m: ModelEntry<H>): boolean {
    return m.file.required ?? this.readyWhen === 'all';
  }

  /** Stops polling and unloads every version (each drains first). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.scanning;
    const all = [...this.models.values()].flatMap((m) => [...m.versions.values()]);
    await Promise.all(all.filter((v) => v.handle).map((v) => this.unloadEntry(v, 'server shutting down')));
  }

  private async scanAll(): Promise<void> {
    if (this.closed) return;
    let names: string[];
    try {
      const dirents = await readdir(this.root, { withFileTypes: true });
      names = dirents.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
    } catch (err) {
      // Keep serving what is loaded: a repository on shared storage may come back.
      if (!this.rootUnreadable) this.deps.log.error({ root: this.root, err: (err as Error).message }, 'cannot read the model repository; loaded models keep serving');
      this.rootUnreadable = true;
      return;
    }
    if (this.rootUnreadable) this.deps.log.info({ root: this.root }, 'model repository readable again');
    this.rootUnreadable = false;
    for (const gone of [...this.models.keys()].filter((n) => !names.includes(n))) await this.removeModel(gone, 'its directory is gone');
    for (const name of names.sort()) await this.scanModel(name);
  }

  private async scanModel(name: string): Promise<void> {
    const dir = path.join(this.root, name);
    const text = await readFile(path.join(dir, 'model.json'), 'utf8').catch(() => undefined);
    const found = await versionFiles(dir);
    let entry = this.models.get(name);
    if (text === undefined && found.size === 0) {
      if (entry) await this.removeModel(name, 'it has neither model.json nor a version directory with model.onnx');
      return;
    }
    if (!entry) {
      entry = { name, file: parseModelFile({}, name), versions: new Map() };
      this.models.set(name, entry);
      this.deps.log.info({ model: name, modelJson: text !== undefined }, 'model added');
    }
    this.readFileText(entry, text);
    if (this.deps.onModelScanned) await this.deps.onModelScanned(name);
    await this.reconcile(entry, found);
  }

  /** Takes a new model.json text into force when it is valid; keeps the last valid one otherwise. */
  private readFileText(entry: ModelEntry<H>, text: string | undefined): void {
    const seen = text ?? NO_FILE;
    if (seen === entry.seenText) return;
    entry.seenText = seen;
    const where = `models/${entry.name}/model.json`;
    try {
      entry.file = text === undefined ? parseModelFile({}, entry.name) : parseModelFile(parseJson(text, where), entry.name, where);
      entry.fileText = text;
      if (entry.configError) this.deps.log.info({ model: entry.name }, 'model.json valid again');
      entry.configError = undefined;
    } catch (err) {
      entry.configError = err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', String(err));
      const keeps = entry.versions.size > 0 ? 'the last valid config stays in force' : 'the model cannot load until it is fixed';
      this.deps.log.error({ model: entry.name, code: entry.configError.code, details: entry.configError.details }, `${entry.configError.message}; ${keeps}`);
    }
  }

  private async reconcile(entry: ModelEntry<H>, found: Map<number, string>): Promise<void> {
    for (const [version, v] of entry.versions) {
      if (!found.has(version)) {
        if (v.handle) await this.unloadEntry(v, 'its directory or model.onnx is gone');
        entry.versions.delete(version);
        this.deps.log.info({ model: entry.name, version }, 'version removed');
      }
    }
    // A model.json that never parsed: nothing to load with (its error is in the metadata).
    if (entry.configError && entry.fileText === undefined && entry.seenText !== NO_FILE && entry.versions.size === 0) return;
    const wanted = entry.file.versionPolicy.latest;
    const fileId = `${(entry.fileText ?? NO_FILE).length}:${hashText(entry.fileText ?? NO_FILE)}`;
    const pinned = this.pinned.get(entry.name);
    const excluded = this.excluded.get(entry.name);
    const kept = new Set(this.deps.keep?.(entry.name) ?? []);
    for (const set of [pinned, excluded]) for (const version of set ?? []) if (!found.has(version)) set?.delete(version);
    const serve = new Set<number>();
    // Policy slots taken: by READY versions and by excluded ones (an unload frees no slot).
    let taken = 0;
    for (const version of [...found.keys()].sort((a, b) => b - a)) {
      if (taken >= wanted && pinned?.has(version) !== true && !kept.has(version)) continue;
      if (excluded?.has(version) === true) {
        taken++;
        continue;
      }
      const identity = `${found.get(version)}|${fileId}`;
      let v = entry.versions.get(version);
      if (!v) {
        v = { model: entry.name, version, state: 'UNKNOWN' };
        entry.versions.set(version, v);
      }
      if (v.handle && v.identity === identity) {
        // The files are back to what serves (say a refused edit was reverted): its failure is history.
        if (v.failure !== undefined) Object.assign(v, { failure: undefined, reason: undefined, failedIdentity: undefined });
        serve.add(version);
        taken++;
        continue;
      }
      if (v.failedIdentity !== identity) await this.loadEntry(v, entry.file, identity);
      if (v.state === 'READY') {
        serve.add(version);
        taken++;
      }
    }
    for (const v of entry.versions.values()) {
      if (!serve.has(v.version) && v.handle) await this.unloadEntry(v, excluded?.has(v.version) === true ? 'unload requested' : `outside versionPolicy.latest ${wanted}`);
    }
  }

  private async removeModel(name: string, why: string): Promise<void> {
    const entry = this.models.get(name);
    if (!entry) return;
    for (const v of entry.versions.values()) if (v.handle) await this.unloadEntry(v, `model removed: ${why}`);
    this.models.delete(name);
    this.pinned.delete(name);
    this.excluded.delete(name);
    this.deps.onModelRemoved?.(name);
    this.deps.log.info({ model: name, reason: why }, 'model removed');
  }

  private async loadEntry(v: VersionEntry<H>, file: ModelFile, identity: string): Promise<void> {
    const modelPath = path.join(this.root, v.model, String(v.version), 'model.onnx');
    const serving = v.handle !== undefined;
    if (!serving) this.setState(v, 'LOADING', v.state === 'UNKNOWN' ? 'new version' : 'files changed');
    try {
      const sha256 = await sha256File(modelPath);
      const handle = await this.deps.load(file, v.version, modelPath, sha256);
      const old = v.handle;
      Object.assign(v, { handle, sha256, identity, failedIdentity: undefined, reason: undefined, failure: undefined });
      this.setState(v, 'READY', serving ? 'reloaded with changed files' : 'loaded and warmed up in every worker', { sha256 });
      if (old !== undefined) await this.deps.unload(old);
    } catch (err) {
      v.failedIdentity = identity;
      v.failure = err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_MODEL_LOAD_FAILED', String((err as Error)?.message ?? err), { cause: err });
      v.reason = v.failure.message;
      const details = v.failure.details;
      if (serving) {
        this.deps.log.error({ model: v.model, version: v.version, code: v.failure.code, reason: v.reason, details }, 'reload failed; the loaded copy keeps serving');
      } else {
        this.setState(v, 'UNAVAILABLE', v.reason, { code: v.failure.code, details });
      }
    }
  }

  private async unloadEntry(v: VersionEntry<H>, why: string): Promise<void> {
    const handle = v.handle;
    if (handle === undefined) return;
    this.setState(v, 'UNLOADING', why);
    v.handle = undefined;
    try {
      await this.deps.unload(handle);
    } catch (err) {
      this.deps.log.error({ model: v.model, version: v.version, err }, 'unload failed');
    }
    v.identity = undefined;
    v.reason = `unloaded: ${why}`;
    this.setState(v, 'UNAVAILABLE', v.reason);
  }

  /** The one place a version changes state: one log line with the reason. */
  private setState(v: VersionEntry<H>, state: ModelState, reason: string, extra: object = {}): void {
    const previous = v.state;
    v.state = state;
    const line = { model: v.model, version: v.version, state, previous, reason, ...extra };
    if (state === 'UNAVAILABLE' && previous === 'LOADING') this.deps.log.error(line, `version ${state}`);
    else this.deps.log.info(line, `version ${state}`);
    this.deps.onState?.(v.model, v.version, state);
  }
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  return set;
}

function newestReady<H>(entry: ModelEntry<H>): (VersionEntry<H> & { handle: H }) | undefined {
  let best: VersionEntry<H> | undefined;
  for (const v of entry.versions.values()) {
    if (v.state === 'READY' && v.handle && (!best || v.version > best.version)) best = v;
  }
  return best as (VersionEntry<H> & { handle: H }) | undefined;
}

/** Maps version → identity ("size:mtime") of its model.onnx. */
async function versionFiles(dir: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let dirents;
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const d of dirents) {
    if (!d.isDirectory() || !VERSION_DIR.test(d.name)) continue;
    try {
      const s = await stat(path.join(dir, d.name, 'model.onnx'));
      if (s.isFile()) out.set(Number(d.name), `${s.size}:${s.mtimeMs}`);
    } catch {
      // directory without model.onnx yet
    }
  }
  return out;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `${where} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Cheap content fingerprint for change detection of small config text (not security). */
function hashText(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
