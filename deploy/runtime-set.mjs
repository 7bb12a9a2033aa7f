// `npm run runtime-set -- OUT_DIR`: the runtime file set, the only files the container image's
// runtime stage holds (docs/deploy.md). Run after `npm ci` and `npm run build`; the Dockerfile's
// build stage runs exactly this, and test/runtime-set.test.ts starts a server from its output.
//
// OUT_DIR gets:
// - dist/src (the compiled server and CLI; no benchmarks, no tests, no source maps pointing at
//   sources that are not there), models/ (the bundled demo models and their data);
// - package.json reduced to what running needs (dependencies, bin, `start` without the build
//   step), package-lock.json and .npmrc;
// - node_modules with the production dependencies only, as `npm ls --omit=dev` lists them, copied
//   from this checkout (no network, no install script run), less the native binaries of other
//   platforms (onnxruntime-node and uWebSockets.js ship every platform's: ~400 MB of 525).
// Nothing here is written by hand twice: the package list is npm's own.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (out === undefined || process.argv.length > 3) {
  console.error('usage: node deploy/runtime-set.mjs OUT_DIR');
  process.exit(2);
}
const dest = path.resolve(out);
if (dest === ROOT || ROOT.startsWith(`${dest}${path.sep}`)) {
  console.error(`runtime-set: refusing to write over the checkout (${dest})`);
  process.exit(2);
}

const platformTag = `${process.platform}/${process.arch}`;
const uwsTag = `_${process.platform}_${process.arch}_${process.versions.modules}.node`;
/** Per package directory name: which files of other platforms to leave out. */
const LEAVE_OUT = {
  // Also a GPU pack this checkout may hold (`sluice gpu install`): the CPU image never carries it;
  // Dockerfile.gpu installs it into the runtime set itself.
  'onnxruntime-node': (rel) =>
    (/^bin\/napi-v\d+\/[^/]+\/[^/]+/.test(rel) && !rel.includes(`/${platformTag}`)) || /\/(libonnxruntime_providers_|sluice-gpu-pack\.json|\.sluice-gpu-)/.test(rel),
  'uWebSockets.js': (rel) => rel.endsWith('.node') && !rel.endsWith(uwsTag),
};

rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
cpSync(path.join(ROOT, 'dist/src'), path.join(dest, 'dist/src'), { recursive: true, filter: (src) => !src.endsWith('.map') });
cpSync(path.join(ROOT, 'models'), path.join(dest, 'models'), { recursive: true });
// The native addon, when it built (src/native/core.ts loads it from there; without it the
// gateway serves with its TypeScript fallback). Only the .node file: no compiler needed to run it.
const addon = 'native/build/Release/sluice_native.node';
if (existsSync(path.join(ROOT, addon))) {
  mkdirSync(path.join(dest, path.dirname(addon)), { recursive: true });
  cpSync(path.join(ROOT, addon), path.join(dest, addon));
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const runtimePkg = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  type: pkg.type,
  private: true,
  license: pkg.license,
  engines: pkg.engines,
  bin: pkg.bin,
  scripts: { start: pkg.scripts.start },
  dependencies: pkg.dependencies,
  gpuPack: pkg.gpuPack,
};
writeFileSync(path.join(dest, 'package.json'), `${JSON.stringify(runtimePkg, null, 2)}\n`);
for (const f of ['package-lock.json', '.npmrc']) cpSync(path.join(ROOT, f), path.join(dest, f));

const listed = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((p) => p !== '' && p !== ROOT);
let bytes = 0;
for (const dir of listed) {
  const rel = path.relative(ROOT, dir);
  const name = path.basename(dir);
  const leaveOut = LEAVE_OUT[name] ?? (() => false);
  cpSync(dir, path.join(dest, rel), {
    recursive: true,
    // A nested node_modules is listed (and copied) as packages of its own.
    filter: (src) => {
      const inner = path.relative(dir, src).split(path.sep).join('/');
      return !inner.startsWith('node_modules') && !leaveOut(inner);
    },
  });
}
for (const f of walk(path.join(dest, 'node_modules'))) bytes += f.size;
console.log(`runtime set in ${dest}: ${listed.length} production packages, node_modules ${(bytes / 2 ** 20).toFixed(0)} MiB (native binaries for ${platformTag} only)`);

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield { size: statSync(p).size };
  }
}
