// The servers a scenario can put side by side: sluice and the baselines, each started on a
// free loopback port. Every naive baseline loads the same model.onnx with the same session
// options as sluice's workers, so what differs is only how requests reach session.run.
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchModel } from './data.js';
import { DIST_BENCH, MODELS_DIR } from './paths.js';
import { startServer, type ServerHandle } from './procs.js';

export type ServerKind = 'sluice' | 'naive-fastify' | 'naive-uws' | 'uws-hello';

export interface SluiceOptions {
  /**
   * Every batch is one request (the gate's slow-on-purpose run): the repository's model.json
   * files get `batching.maxBatchSize` 1 before start. Injected here, by the benchmark: sluice
   * has no test-only switch for it.
   */
  disableBatching?: boolean;
  /** --workers; sluice's default (cores − 1) when absent. */
  workers?: number;
  /**
   * --poll-interval-ms: how often the repository rescans (versions, routing.json). Default
   * 60000, so no rescan disturbs a run; a scenario that changes routing mid-run sets it short.
   */
  pollIntervalMs?: number;
  /** More sluice flags, e.g. ['--prediction-log', file]. */
  args?: readonly string[];
  /** More node flags, before the entry script (e.g. ['--cpu-prof', '--cpu-prof-dir', dir]). */
  nodeFlags?: readonly string[];
}

/** models/<m>/routing.json as sluice reads it (src/routing/table-file.ts): versions are strings. */
export interface RoutingFile {
  primary?: string;
  shadows?: { version: string; percent: number }[];
}

/**
 * A private model repository holding only `names` (model.json and version directories, no
 * data), so a sluice under test loads exactly the model being measured. Caller removes it.
 */
export function privateRepository(names: readonly string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-models-'));
  for (const name of names) {
    cpSync(path.join(MODELS_DIR, name), path.join(dir, name), {
      recursive: true,
      filter: (src) => !src.split(path.sep).includes('data'),
    });
  }
  return dir;
}

/**
 * A private repository holding only `name` with version directories 1..`versions`, each a copy
 * of the model's version 1 (the same model.onnx: equal cost is what a shadow benchmark needs),
 * `versionPolicy.latest` raised to `versions` so that all of them load, and `routing` as its
 * routing.json. Caller removes it (removeRepository).
 */
export function versionedRepository(name: string, versions: number, routing: RoutingFile): string {
  const dir = privateRepository([name]);
  for (let v = 2; v <= versions; v++) cpSync(path.join(dir, name, '1'), path.join(dir, name, String(v)), { recursive: true });
  const modelJson = path.join(dir, name, 'model.json');
  const config = JSON.parse(readFileSync(modelJson, 'utf8')) as Record<string, unknown>;
  writeFileSync(modelJson, `${JSON.stringify({ ...config, versionPolicy: { latest: versions } }, null, 2)}\n`);
  writeRouting(dir, name, routing);
  return dir;
}

/**
 * Replaces models/<name>/routing.json of a private repository by rename, so a rescan reads the
 * old table or the new one, never a part. sluice picks it up at its next rescan (pollIntervalMs).
 */
export function writeRouting(repo: string, name: string, routing: RoutingFile): void {
  const file = path.join(repo, name, 'routing.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(routing)}\n`);
  renameSync(`${file}.tmp`, file);
}

export async function startSluice(modelsDir: string, opts: SluiceOptions = {}): Promise<ServerHandle> {
  const args = [
    // As `npm start` runs it (package.json): the V8 flag sluice ships with.
    '--single-threaded-gc',
    ...(opts.nodeFlags ?? []),
    path.join(DIST_BENCH, 'lib', 'sluice-entry.js'),
    '--host', '127.0.0.1', '--port', '{port}', '--models', modelsDir, '--log-level', 'warn',
    // No repository rescans during runs (a stat per version every 2 s by default: cheap, but
    // not part of what is measured).
    '--poll-interval-ms', String(opts.pollIntervalMs ?? 60_000),
  ];
  if (opts.workers !== undefined) args.push('--workers', String(opts.workers));
  if (opts.args) args.push(...opts.args);
  if (opts.disableBatching) unbatch(modelsDir);
  return startServer({ name: 'sluice', args, readyPath: '/v2/health/ready', timeoutMs: 120_000 });
}

/** Sets batching.maxBatchSize 1 in every model.json of a private repository. */
function unbatch(modelsDir: string): void {
  for (const name of readdirSync(modelsDir)) {
    const file = path.join(modelsDir, name, 'model.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as { batching?: Record<string, unknown> };
    writeFileSync(file, `${JSON.stringify({ ...config, batching: { ...config.batching, maxBatchSize: 1, preferredBatchSizes: [] } }, null, 2)}\n`);
  }
}

export function startBaseline(kind: Exclude<ServerKind, 'sluice'>, model: BenchModel): Promise<ServerHandle> {
  const script = path.join(DIST_BENCH, 'baselines', `${kind}.js`);
  const args =
    kind === 'uws-hello'
      ? [script, '{port}']
      : [script, '{port}', model.name, model.onnxPath, model.inputName, String(model.width)];
  return startServer({ name: kind, args, readyPath: '/v2/health/ready' });
}

/** Removes a private repository made by privateRepository(). */
export function removeRepository(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
