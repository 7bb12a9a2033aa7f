// Every served version's drift monitor, created on the version's first event from the
// reference.json next to its model.onnx (read once per version and sha256: a reloaded version with
// new files gets a new monitor). A version without a reference, or with one that does not parse,
// is remembered with the reason, which its drift report states; it serves normally.
// Pure apart from the injected reader and clock.
import type { DriftSettings } from '../types.js';
import { DriftMonitor } from './monitor.js';
import { parseDriftReference, type DriftReference } from './reference.js';

/** One closed count window of a version: what the drift report's history and the demo chart show. */
export interface WindowPoint {
  readonly time: string;
  /** Rows the version had binned when the window closed. */
  readonly rows: number;
  readonly score: number | null;
}

/** Closed windows kept per version. */
export const HISTORY_WINDOWS = 200;

export type Tracked =
  | { readonly monitor: DriftMonitor; readonly reference: DriftReference; readonly sha256: string | null; readonly history: WindowPoint[]; rows: number }
  | { readonly monitor: null; readonly reason: string; readonly sha256: string | null };

export interface DriftBookDeps {
  /** reference.json's text for the version; null when it has none. May throw (unreadable). */
  readReference(model: string, version: number): string | null;
  settingsOf(model: string): DriftSettings;
  /** A reference that exists but was refused (logged once per version and sha256). */
  onRefused?(model: string, version: number, reason: string): void;
}

export class DriftBook {
  private readonly models = new Map<string, Map<number, Tracked>>();

  constructor(private readonly deps: DriftBookDeps) {}

  /** The version's monitor (or why it has none), created on first use. */
  entry(model: string, version: number, sha256: string | null): Tracked {
    let versions = this.models.get(model);
    if (versions === undefined) this.models.set(model, (versions = new Map()));
    const known = versions.get(version);
    if (known !== undefined && known.sha256 === sha256) return known;
    const made = this.make(model, version, sha256);
    versions.set(version, made);
    return made;
  }

  /** The model's tracked versions, ascending. */
  versions(model: string): [number, Tracked][] {
    return [...(this.models.get(model) ?? [])].sort((a, b) => a[0] - b[0]);
  }

  /** Drops versions `live` no longer answers for (unloaded, removed). */
  prune(live: (model: string, version: number) => boolean): void {
    for (const [model, versions] of this.models) {
      for (const version of versions.keys()) if (!live(model, version)) versions.delete(version);
      if (versions.size === 0) this.models.delete(model);
    }
  }

  /** Records a closed window in the version's history (bounded). */
  static remember(t: Extract<Tracked, { monitor: DriftMonitor }>, point: WindowPoint): void {
    t.history.push(point);
    if (t.history.length > HISTORY_WINDOWS) t.history.shift();
  }

  private make(model: string, version: number, sha256: string | null): Tracked {
    const settings = this.deps.settingsOf(model);
    if (!settings.enabled) return { monitor: null, reason: 'drift tracking is off in model.json ("drift": {"enabled": false})', sha256 };
    let text: string | null;
    try {
      text = this.deps.readReference(model, version);
    } catch (err) {
      return this.refused(model, version, sha256, `reference.json could not be read: ${(err as Error).message}`);
    }
    if (text === null) return { monitor: null, reason: 'no reference.json in the version directory (the training-data profile drift is measured against)', sha256 };
    let reference: DriftReference;
    try {
      reference = parseDriftReference(text);
    } catch (err) {
      return this.refused(model, version, sha256, `reference.json is invalid: ${(err as Error).message}`);
    }
    const monitor = new DriftMonitor(reference, { windowRows: settings.windowRows, windowMs: settings.windowSeconds * 1000 });
    return { monitor, reference, sha256, history: [], rows: 0 };
  }

  private refused(model: string, version: number, sha256: string | null, reason: string): Tracked {
    this.deps.onRefused?.(model, version, reason);
    return { monitor: null, reason, sha256 };
  }
}
