// What every result records beside its figures: the machine, the versions, the date.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemSeconds } from './cpu.js';
import { ROOT } from './paths.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  /**
   * CPU busy (% of all cores) during 1 s just before the scenario, while the bench itself
   * was idle: other processes' load. Above a few % the figures are disturbed.
   */
  backgroundCpuPercent: number;
}

export interface Versions {
  node: string;
  sluice: string;
  /** Commit of the measured tree, "+dirty" when src/ had uncommitted changes. */
  sluiceCommit: string;
  onnxruntimeNode: string;
  uWebSocketsJs: string;
  fastify: string;
  autocannon: string;
  /** null when wrk is not installed. */
  wrk: string | null;
}

/** % of all cores busy over `ms` (NaN where /proc/stat is missing). */
export async function backgroundCpuPercent(ms = 1000): Promise<number> {
  try {
    const a = systemSeconds();
    await new Promise((r) => setTimeout(r, ms));
    const b = systemSeconds();
    // Busy includes this process's own (tiny) sleep loop; steal is another guest's, not ours.
    return Math.round((1000 * (b.busy - a.busy)) / (b.total - a.total)) / 10;
  } catch {
    return NaN;
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    backgroundCpuPercent: await backgroundCpuPercent(),
  };
}

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function wrkVersion(): string | null {
  try {
    // `wrk -v` prints its version and exits 1.
    execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string };
    if (e.code === 'ENOENT') return null;
    const m = /^wrk (\S+)/m.exec(e.stdout ?? '');
    return m ? m[1]! : 'unknown';
  }
  return 'unknown';
}

/** SLUICE_BENCH_COMMIT when set (a snapshot without .git), else git's HEAD of ROOT. */
export function sluiceCommit(): string {
  if (process.env.SLUICE_BENCH_COMMIT) return process.env.SLUICE_BENCH_COMMIT;
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--', 'src') === '' ? '' : '+dirty');
  } catch {
    return 'unknown';
  }
}

export function versions(): Versions {
  const nm = path.join(ROOT, 'node_modules');
  return {
    node: process.versions.node,
    sluice: packageVersion(ROOT),
    sluiceCommit: sluiceCommit(),
    onnxruntimeNode: packageVersion(path.join(nm, 'onnxruntime-node')),
    uWebSocketsJs: packageVersion(path.join(nm, 'uWebSockets.js')),
    fastify: packageVersion(path.join(nm, 'fastify')),
    autocannon: packageVersion(path.join(nm, 'autocannon')),
    wrk: wrkVersion(),
  };
}
