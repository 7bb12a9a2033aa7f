// The only module that loads the native addon (native/README.md). The implementation is chosen
// once, at start (selectNativeCore), and every caller goes through nativeCore(): the addon when
// it is built and loads, else the TypeScript fallback, which gives the same bytes and results.
// Until selectNativeCore runs (unit tests of a codec, tools) the fallback serves.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binRowsTs, encodeDataTs, liftDataTs } from './fallback.js';
import type { BinRows, EncodeData, LiftData } from './kinds.js';

export interface NativeCore {
  /** Which implementation serves: wire-visible in GET /v2 (`native`) and logged at start. */
  readonly impl: 'addon' | 'fallback';
  /** Why the fallback serves; absent for the addon. */
  readonly reason?: string;
  readonly encodeData: EncodeData;
  readonly binRows: BinRows;
  readonly liftData: LiftData;
}

/** Where `npm ci` / `npm run build` put the addon, under the package root. */
const ADDON_FILE = 'native/build/Release/sluice_native.node';
/** The addon's `abi` export this code was written against. */
const ADDON_ABI = 4;

function fallback(reason: string): NativeCore {
  return Object.freeze({ impl: 'fallback' as const, reason, encodeData: encodeDataTs, binRows: binRowsTs, liftData: liftDataTs });
}

let current: NativeCore = fallback('not selected');

/** Loads the addon (unless `disable`) and makes the choice for this process; returns it. */
export function selectNativeCore(disable: boolean, addonPath: string = defaultAddonPath()): NativeCore {
  current = disable ? fallback('disabled by --disable-native') : loadAddon(addonPath);
  return current;
}

export function nativeCore(): NativeCore {
  return current;
}

/** The package root is above src/ (compiled: above dist/src/). */
function defaultAddonPath(): string {
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  if (path.basename(root) === 'dist') root = path.dirname(root);
  return path.join(root, ADDON_FILE);
}

function loadAddon(addonPath: string): NativeCore {
  let mod: { abi?: unknown; encodeData?: unknown; binRows?: unknown; liftData?: unknown };
  try {
    mod = createRequire(import.meta.url)(addonPath) as typeof mod;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? `no addon at ${addonPath}` : (err as Error).message;
    return fallback(why.slice(0, 300));
  }
  if (mod.abi !== ADDON_ABI || typeof mod.encodeData !== 'function' || typeof mod.binRows !== 'function' || typeof mod.liftData !== 'function') {
    return fallback(`addon at ${addonPath} has abi ${String(mod.abi)}, expected ${ADDON_ABI} (rebuild: npm run build)`);
  }
  return Object.freeze({
    impl: 'addon' as const,
    encodeData: mod.encodeData as EncodeData,
    binRows: mod.binRows as BinRows,
    liftData: mod.liftData as LiftData,
  });
}
