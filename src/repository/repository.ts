// The model repository (DESIGN §4): scans models/<name>/model.json and integer version
// directories, loads the newest `versionPolicy.latest` versions that load, and keeps the
// version table that requests resolve against. It knows nothing of workers or batchers: the
// composition root injects load/unload, and a version's handle is opaque here.
//
// Contracts:
// - A version is READY only after load() resolved (sessions in every worker, warmup ran).
// - A failed load or reload never removes a serving version; the failure is kept per file
//   identity (size, mtime, config) and retried only when that identity changes.
// - Scans are serialized; resolve() is synchronous and always sees a consistent table.
// - A version leaving the served set turns UNLOADING: resolve() no longer returns it, and
//   unload() (which drains its queue first) runs after the newer version is READY.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors.js';
import type { ModelState } from '../types.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';
import { sha256File } from './sha256.js';

export interface RepoLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RepositoryDeps<H> {
  load(config: ModelConfig, version: number, modelPath: string, sha256: string): Promise<H>;
  /** Must drain the version's queued and running requests before releasing it. */
  unload(handle: H): Promise<void>;
  log: RepoLogger;
  onState?(model: string, version: number, state: ModelState): void;
}

export interface VersionEntry<H> {
  readonly model: string;
  readonly version: number;
  state: ModelState;
  sha256?: string;
  /** Why the last load failed, while UNAVAILABLE or while an older identity keeps serving. */
  reason?: string;
  handle?: H;
  config?: ModelConfig;
  /** Identity of the files the handle (or the last failure) was built from. */
  identity?: string;
  failedIdentity?: string;
}

export interface ModelEntry<H> {
  readonly name: string;
  config?: ModelConfig;
  configError?: SluiceError;
  configText?: string;
  versions: Map<number, VersionEntry<H>>;
}

const VERSION_DIR = /^[1-9][0-9]{0,8}$/;

export class ModelRepository<H> {
  private readonly models = new Map<string, ModelEntry<H>>();
  private scanning: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Until the first scan ends, a model directory not yet reached would not count against readiness. */
  private firstScanDone = false;

  constructor(
    readonly root: string,
    private readonly deps: RepositoryDeps<H>,
    private readonly pollIntervalMs: number,
  ) {}

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
    let best: VersionEntry<H> | undefined;
    for (const v of entry.versions.values()) {
      if (v.state === 'READY' && v.handle && (!best || v.version > best.version)) best = v;
    }
    if (!best) throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', `model "${model}" has no READY version`, { retryAfterS: 1 });
    return best as VersionEntry<H> & { handle: H };
  }

  get(model: string): ModelEntry<H> | undefined {
    return this.models.get(model);
  }

  list(): ModelEntry<H>[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The first scan has ended and every model with a valid config and at least one version
   * directory has a READY version.
   */
  isReady(): boolean {
    if (!this.firstScanDone) return false;
    for (const m of this.models.values()) {
      if (!m.config || m.versions.size === 0) continue;
      if (![...m.versions.values()].some((v) => v.state === 'READY')) return false;
    }
    return this.models.size > 0;
  }

  /** Stops polling and unloads every version (each drains first). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.scanning;
    const all = [...this.models.values()].flatMap((m) => [...m.versions.values()]);
    await Promise.all(all.filter((v) => v.handle).map((v) => this.unloadEntry(v)));
  }

  private async scanAll(): Promise<void> {
    if (this.closed) return;
    let names: string[];
    try {
      const dirents = await readdir(this.root, { withFileTypes: true });
      names = dirents.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
    } catch (err) {
      this.deps.log.error({ err, root: this.root }, 'cannot read the model repository');
      return;
    }
    for (const gone of [...this.models.keys()].filter((n) => !names.includes(n))) await this.scanModel(gone, false);
    for (const name of names.sort()) await this.scanModel(name, true);
  }

  private async scanModel(name: string, present: boolean): Promise<void> {
    const dir = path.join(this.root, name);
    let entry = this.models.get(name);
    let configText: string | undefined;
    if (present) {
      try {
        configText = await readFile(path.join(dir, 'model.json'), 'utf8');
      } catch {
        configText = undefined; // not a model directory (yet)
      }
    }
    if (configText === undefined && !entry) return;
    if (!entry) {
      entry = { name, versions: new Map() };
      this.models.set(name, entry);
    }
    if (configText !== undefined && configText !== entry.configText) {
      entry.configText = configText;
      try {
        entry.config = parseModelConfig(parseJson(configText), name, `models/${name}/model.json`);
        entry.configError = undefined;
        this.deps.log.info({ model: name }, 'model config loaded');
      } catch (err) {
        entry.configError = err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', String(err));
        // Keep serving with the last good config: a bad edit must not take a model down.
        this.deps.log.error({ model: name, code: entry.configError.code, details: entry.configError.details }, entry.configError.message);
      }
    }
    const found = configText === undefined ? new Map<number, string>() : await this.versionFiles(dir);
    await this.reconcile(entry, found);
  }

  /** Maps version → identity ("size:mtime") of its model.onnx. */
  private async versionFiles(dir: string): Promise<Map<number, string>> {
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

  private async reconcile(entry: ModelEntry<H>, found: Map<number, string>): Promise<void> {
    const config = entry.config;
    for (const [version, v] of entry.versions) {
      if (!found.has(version)) {
        if (v.handle) await this.unloadEntry(v);
        entry.versions.delete(version);
        this.deps.log.info({ model: entry.name, version }, 'version removed');
      }
    }
    if (!config) return;
    const wanted = config.versionPolicy.latest;
    const newestFirst = [...found.keys()].sort((a, b) => b - a);
    const serve = new Set<number>();
    for (const version of newestFirst) {
      if (serve.size >= wanted) break;
      const identity = `${found.get(version)}|${entry.configText?.length}:${hashText(entry.configText ?? '')}`;
      let v = entry.versions.get(version);
      if (!v) {
        v = { model: entry.name, version, state: 'UNKNOWN' };
        entry.versions.set(version, v);
      }
      if (v.handle && v.identity === identity) {
        serve.add(version);
        continue;
      }
      if (v.failedIdentity !== identity) await this.loadEntry(v, config, identity);
      if (v.state === 'READY') serve.add(version);
    }
    for (const v of entry.versions.values()) {
      if (!serve.has(v.version) && v.handle) await this.unloadEntry(v);
    }
  }

  private async loadEntry(v: VersionEntry<H>, config: ModelConfig, identity: string): Promise<void> {
    const modelPath = path.join(this.root, v.model, String(v.version), 'model.onnx');
    const serving = v.handle !== undefined;
    if (!serving) this.setState(v, 'LOADING');
    try {
      const sha256 = await sha256File(modelPath);
      const handle = await this.deps.load(config, v.version, modelPath, sha256);
      const old = v.handle;
      Object.assign(v, { handle, sha256, config, identity, failedIdentity: undefined, reason: undefined });
      this.setState(v, 'READY');
      this.deps.log.info({ model: v.model, version: v.version, sha256 }, 'version READY');
      if (old !== undefined) await this.deps.unload(old);
    } catch (err) {
      v.failedIdentity = identity;
      v.reason = err instanceof Error ? err.message : String(err);
      if (!serving) this.setState(v, 'UNAVAILABLE');
      this.deps.log.error(
        { model: v.model, version: v.version, err: v.reason, keptServing: serving },
        serving ? 'reload failed; the loaded copy keeps serving' : 'version failed to load',
      );
    }
  }

  private async unloadEntry(v: VersionEntry<H>): Promise<void> {
    const handle = v.handle;
    if (handle === undefined) return;
    this.setState(v, 'UNLOADING');
    v.handle = undefined;
    try {
      await this.deps.unload(handle);
    } catch (err) {
      this.deps.log.error({ model: v.model, version: v.version, err }, 'unload failed');
    }
    v.identity = undefined;
    v.reason = 'unloaded';
    this.setState(v, 'UNAVAILABLE');
    this.deps.log.info({ model: v.model, version: v.version }, 'version unloaded');
  }

  private setState(v: VersionEntry<H>, state: ModelState): void {
    v.state = state;
    this.deps.onState?.(v.model, v.version, state);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `model.json is not valid JSON: ${(err as Error).message}`);
  }
}

/** Cheap content fingerprint for change detection of small config text (not security). */
function hashText(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
