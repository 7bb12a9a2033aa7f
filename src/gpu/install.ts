// `sluice gpu install|uninstall`: puts the GPU pack's provider libraries where onnxruntime-node
// loads them (beside libonnxruntime.so.1), or takes them away. The tarball comes from the npm
// registry through `npm pack` (npm's own registry, proxy and auth settings apply) only when the
// user runs the command, never from an install script; or from a file given with --from. Either
// way its sha512 must equal package.json's gpuPack.integrity before a byte of it is unpacked.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { SluiceError } from '../errors.js';
import { CUDA_PROVIDER_FILE, GPU_PACK, INSTALL_MARKER, onnxruntimeInstall } from './pack.js';

const run = promisify(execFile);

export interface InstallOptions {
  /** A tarball already on disk (offline installs); otherwise `npm pack` fetches it. */
  readonly from?: string;
  /** An onnxruntime-node package folder other than the one the gateway loads. */
  readonly onnxruntimeRoot?: string;
  /** The npm command (default "npm" on PATH). */
  readonly npm?: string;
  readonly log: (line: string) => void;
}

export interface InstallResult {
  readonly binDir: string;
  readonly files: readonly string[];
}

/** "sha512-<base64>" of a file, streamed. */
export async function fileIntegrity(file: string): Promise<string> {
  const hash = createHash('sha512');
  await pipeline(createReadStream(file), hash);
  return `sha512-${hash.digest('base64')}`;
}

async function npmPack(npm: string, dest: string): Promise<string> {
  const spec = `${GPU_PACK.package}@${GPU_PACK.version}`;
  try {
    const { stdout } = await run(npm, ['pack', spec, '--pack-destination', dest, '--json'], { maxBuffer: 16 << 20 });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    return path.join(dest, packed!.filename);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const why = (e.stderr ?? '').split('\n').filter((l) => /npm (error|ERR)/.test(l)).join(' ') || e.message;
    throw new SluiceError('SLUICE_ERR_GPU_PACK_FETCH', `npm pack ${spec} failed: ${why}`, { cause: err });
  }
}

export async function installGpuPack(opts: InstallOptions): Promise<InstallResult> {
  const ort = onnxruntimeInstall(opts.onnxruntimeRoot);
  if (ort.version !== GPU_PACK.onnxruntime) {
    throw new SluiceError(
      'SLUICE_ERR_GPU_PACK_RUNTIME',
      `${ort.root} is onnxruntime-node@${ort.version}; ${GPU_PACK.package}@${GPU_PACK.version} holds ONNX Runtime ${GPU_PACK.onnxruntime}'s CUDA provider, which only that runtime can load`,
    );
  }
  // A fetched tarball goes to a scratch folder; nothing lands beside the runtime before the check.
  let scratch: string | undefined;
  let stage: string | undefined;
  try {
    let tarball = opts.from;
    if (tarball === undefined) {
      scratch = await mkdtemp(path.join(os.tmpdir(), 'sluice-gpu-pack-'));
      opts.log(`fetching ${GPU_PACK.package}@${GPU_PACK.version} with npm pack`);
      tarball = await npmPack(opts.npm ?? 'npm', scratch);
    }
    const integrity = await fileIntegrity(tarball);
    if (integrity !== GPU_PACK.integrity) {
      throw new SluiceError('SLUICE_ERR_GPU_PACK_INTEGRITY', `${tarball} is not ${GPU_PACK.package}@${GPU_PACK.version}: its integrity is ${integrity}, package.json pins ${GPU_PACK.integrity}`);
    }
    opts.log(`integrity ${integrity.slice(0, 22)}… matches package.json`);
    // Unpacked beside the runtime so that each file moves into place with one rename.
    const into = (stage = await mkdtemp(path.join(ort.binDir, '.sluice-gpu-')));
    const wanted = new Set(Object.values(GPU_PACK.files));
    await tar.x({ file: tarball, cwd: into, strict: true, filter: (p) => wanted.has(p) });
    const absent = [...wanted].filter((p) => !existsSync(path.join(into, p)));
    if (absent.length > 0) throw new SluiceError('SLUICE_ERR_GPU_PACK_CONTENT', `${tarball} lacks ${absent.join(', ')}`);
    // gpuPack.files lists the bridge before the provider: a present provider implies its bridge.
    for (const [name, inTarball] of Object.entries(GPU_PACK.files)) {
      await rename(path.join(into, inTarball), path.join(ort.binDir, name));
      opts.log(`installed ${path.join(ort.binDir, name)}`);
    }
    const marker = { package: GPU_PACK.package, version: GPU_PACK.version, integrity, onnxruntime: ort.version, installedAt: new Date().toISOString() };
    await writeFile(path.join(ort.binDir, INSTALL_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    return { binDir: ort.binDir, files: Object.keys(GPU_PACK.files) };
  } finally {
    if (stage !== undefined) await rm(stage, { recursive: true, force: true });
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

/** Removes what installGpuPack put in place (the provider first); the names of what it removed. */
export async function uninstallGpuPack(opts: { readonly onnxruntimeRoot?: string }): Promise<string[]> {
  const { binDir } = onnxruntimeInstall(opts.onnxruntimeRoot);
  const names = [CUDA_PROVIDER_FILE, ...Object.keys(GPU_PACK.files).filter((n) => n !== CUDA_PROVIDER_FILE), INSTALL_MARKER];
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(binDir, name);
    if (!existsSync(file)) continue;
    await rm(file);
    removed.push(file);
  }
  return removed;
}
