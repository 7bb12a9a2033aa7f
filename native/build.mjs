// Builds the native addon (native/README.md) with node-gyp, offline: the Node headers come from
// the running node's own install prefix (a distribution's node ships them in include/node), never
// from a download. Runs as the package's `install` script (so `npm ci` builds it) and in
// `npm run build`. A failed build is a warning, not an error: the gateway then serves with its
// TypeScript fallback, and says so at start.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || prefix;

function warn(msg) {
  console.warn(`sluice native: ${msg}; the gateway will use its TypeScript fallback`);
  process.exit(0);
}

if (process.env.SLUICE_SKIP_NATIVE_BUILD === '1') warn('build skipped (SLUICE_SKIP_NATIVE_BUILD=1)');
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) warn(`no Node headers under ${nodedir}/include/node`);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  warn('node-gyp is not installed (a production-only install)');
}
const configured = existsSync(path.join(here, 'build', 'Makefile'));
const args = configured ? ['build'] : ['rebuild'];
const r = spawnSync(process.execPath, [gyp, ...args, `--nodedir=${nodedir}`, '--release', '--loglevel=warn'], {
  cwd: here,
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0) warn(`node-gyp ${args[0]} failed (exit ${r.status})`);
