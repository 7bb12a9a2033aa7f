// The image's runtime file set (deploy/runtime-set.mjs, what the Dockerfile's runtime stage
// holds), built by its npm script and started the way the image's CMD starts it, from a directory
// holding only that set: no dev dependency, no TypeScript, no sources. It serves a prediction;
// SIGTERM to its top process under load drains with no accepted request failing, and exits 0.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getJson, postJson, ROOT } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

let dir: string;
let server: ServerProcess | undefined;
beforeAll(() => {
  dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'sluice-runtime-')), 'app');
  execFileSync('npm', ['run', '--silent', 'runtime-set', '--', dir], { cwd: ROOT, stdio: 'pipe' });
});
afterAll(() => {
  server?.child.kill('SIGKILL');
  rmSync(path.dirname(dir), { recursive: true, force: true });
});

/** The checkout's addon, when it built: the runtime set carries the .node file alone. */
const HAS_ADDON = existsSync(path.join(ROOT, 'native/build/Release/sluice_native.node'));

function* files(d: string): Generator<string> {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield path.relative(dir, p);
  }
}

it('holds dist/src, the models and production dependencies only', () => {
  const top = ['.npmrc', 'dist', 'models', ...(HAS_ADDON ? ['native'] : []), 'node_modules', 'package-lock.json', 'package.json'];
  expect(readdirSync(dir).sort()).toEqual(top);
  if (HAS_ADDON) expect([...files(path.join(dir, 'native'))].map((f) => path.relative('native', f))).toEqual(['build/Release/sluice_native.node']);
  expect(readdirSync(path.join(dir, 'dist'))).toEqual(['src']);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  expect(pkg.devDependencies).toBeUndefined();
  expect(pkg.scripts).toEqual({ start: 'node --single-threaded-gc dist/src/main.js' });
  // Every devDependency but ws, which uWebSockets.js's package also depends on at run time.
  const devOnly = Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies).filter((n) => n !== 'ws');
  expect(devOnly).toEqual(expect.arrayContaining(['typescript', 'vitest', 'autocannon', 'fastify']));
  for (const name of [...devOnly, 'esbuild', 'vite']) expect(existsSync(path.join(dir, 'node_modules', name)), name).toBe(false);
  for (const name of Object.keys(pkg.dependencies)) expect(existsSync(path.join(dir, 'node_modules', name)), name).toBe(true);
  const all = [...files(dir)];
  expect(all.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('node_modules'))).toEqual([]);
  expect(all.filter((f) => f.endsWith('.map') && f.startsWith('dist'))).toEqual([]);
  // Native binaries of this platform only.
  const natives = all.filter((f) => f.endsWith('.node') || /libonnxruntime/.test(f));
  expect(natives.length).toBeGreaterThan(0);
  for (const f of natives.filter((n) => n.includes('onnxruntime-node/bin'))) expect(f).toContain(`${process.platform}/${process.arch}`);
  for (const f of natives.filter((n) => n.includes('uWebSockets.js'))) expect(f).toContain(`_${process.platform}_${process.arch}_${process.versions.modules}.node`);
});

it("starts as the image's CMD does, serves, and drains on SIGTERM under load with no accepted request failing", async () => {
  server = spawnServer([], { SLUICE_HOST: '127.0.0.1', SLUICE_PORT: '0', SLUICE_WORKERS: '2', NODE_ENV: 'production' }, { root: dir, nodeArgs: ['--single-threaded-gc'] });
  const url = `http://127.0.0.1:${await server.port}`;
  await waitFor(async () => (await getJson(`${url}/v2/health/ready`).catch(() => ({ status: 0 }))).status === 200, 30_000);
  const one = await postJson(`${url}/v2/models/digits/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] });
  expect(one.status).toBe(200);
  expect(one.json.model_version).toBe('1');
  expect((await getJson(`${url}/v2`)).json.native.impl).toBe(HAS_ADDON ? 'addon' : 'fallback');

  const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [64, 64], data: digitsRows(64) }] };
  const outcomes = { ok: 0, refused: 0, failed: [] as string[] };
  const client = async (): Promise<void> => {
    for (;;) {
      try {
        const r = await postJson(`${url}/v2/models/digits/infer`, body);
        if (r.status === 200) outcomes.ok++;
        else if (r.status === 503 && r.json?.code === 'SLUICE_ERR_SHUTTING_DOWN') return void outcomes.refused++;
        else outcomes.failed.push(`${r.status} ${r.json?.code}`);
      } catch (err) {
        if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return void outcomes.refused++;
        outcomes.failed.push(String((err as Error).message));
      }
    }
  };
  const clients = Array.from({ length: 16 }, client);
  await waitFor(() => outcomes.ok > 20, 30_000);
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  await Promise.all(clients);
  expect(outcomes.failed).toEqual([]);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(server.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down: draining in-flight requests', 'stopped']));
});
