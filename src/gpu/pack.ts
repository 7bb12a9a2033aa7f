// The GPU pack sluice pairs with its ONNX Runtime. package.json's `gpuPack` is the one record of
// it: the registry package that ships ONNX Runtime's CUDA provider, the integrity of its tarball,
// the runtime version the provider was built against (dependencies.onnxruntime-node must equal
// it), the files sluice installs and the libraries the provider loads on a GPU machine.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SluiceError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';

export interface GpuPack {
  readonly package: string;
  readonly version: string;
  /** Subresource-integrity string of the registry tarball: "sha512-<base64>". */
  readonly integrity: string;
  /** The onnxruntime-node version the provider libraries were built for. */
  readonly onnxruntime: string;
  /** CUDA major version the provider links against. */
  readonly cuda: string;
  /** The oldest NVIDIA Linux driver that runs that CUDA (NVIDIA's CUDA release notes). */
  readonly minDriver: string;
  /** Installed file name → its path inside the tarball, in the order the runtime loads them. */
  readonly files: Readonly<Record<string, string>>;
  /** soname → what it is, for every library the CUDA provider loads from the machine. */
  readonly libraries: Readonly<Record<string, string>>;
}

const require = createRequire(import.meta.url);

// sluice's own package.json, from src/gpu/ (vitest) or dist/src/gpu/ (node) alike.
const pkg = JSON.parse(readFileSync(path.join(packageRoot(import.meta.url), 'package.json'), 'utf8')) as {
  gpuPack: GpuPack;
  dependencies: Record<string, string>;
};

export const GPU_PACK: GpuPack = pkg.gpuPack;

/** The onnxruntime-node version package.json pins. */
export const PINNED_ONNXRUNTIME: string = pkg.dependencies['onnxruntime-node']!;

/** The provider library whose loading decides whether `cuda:N` sessions can exist. */
export const CUDA_PROVIDER_FILE = 'libonnxruntime_providers_cuda.so';

/** Marker written beside the provider files by `sluice gpu install`: which pack put them there. */
export const INSTALL_MARKER = 'sluice-gpu-pack.json';

export interface OnnxruntimeInstall {
  /** The onnxruntime-node package folder (its package.json). */
  readonly root: string;
  /** Where libonnxruntime.so.1 lives: ONNX Runtime loads provider libraries from this folder. */
  readonly binDir: string;
  readonly version: string;
}

/**
 * The onnxruntime-node install the gateway loads, or the one at `root` (a package folder with
 * its package.json and bin/napi-v6/<platform>/<arch>/).
 */
export function onnxruntimeInstall(root?: string): OnnxruntimeInstall {
  // The package's main is dist/index.js; its binding loads ../bin/napi-v6/<platform>/<arch>/.
  const dir = root ?? path.dirname(path.dirname(require.resolve('onnxruntime-node')));
  const binDir = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
  let version: unknown;
  try {
    ({ version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown });
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_GPU_PACK_RUNTIME', `no onnxruntime-node at ${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof version !== 'string' || !existsSync(binDir)) {
    throw new SluiceError('SLUICE_ERR_GPU_PACK_RUNTIME', `${dir} is no onnxruntime-node package (a package.json with a version, and ${path.relative(dir, binDir)}/)`);
  }
  return { root: dir, binDir, version };
}
