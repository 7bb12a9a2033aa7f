// sluice's own folder: the first one holding a package.json above a module, so that code finds
// package.json and models/ alike whether it runs from src/ (vitest) or dist/ (node).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The first folder above the module at `moduleUrl` (import.meta.url) that holds a package.json. */
export function packageRoot(moduleUrl: string): string {
  const from = path.dirname(fileURLToPath(moduleUrl));
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
