// What a `cuda:N` session needs and what this machine has: the paired onnxruntime-node, the GPU
// pack's provider files, every library the provider loads, the driver and the device nodes. Used
// by `sluice gpu doctor` and, after a CUDA fallback, to name the missing piece in the log line
// and the model metadata.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CUDA_PROVIDER_FILE, GPU_PACK, INSTALL_MARKER, onnxruntimeInstall, type OnnxruntimeInstall } from './pack.js';
import { loaderError, missingLibrary } from './probe.js';

export interface LibraryStatus {
  readonly soname: string;
  readonly what: string;
  /** The loader's message when it does not load. */
  readonly error?: string;
}

/** One missing piece: its exact name, what it is, and how to get it. */
export interface MissingPiece {
  readonly name: string;
  readonly what: string;
  readonly fix: string;
  readonly error?: string;
}

export interface GpuReport {
  readonly onnxruntime: OnnxruntimeInstall & { readonly paired: string };
  /** The marker `sluice gpu install` left, when it did. */
  readonly installedPack: { readonly package: string; readonly version: string; readonly integrity: string } | null;
  readonly providerFiles: readonly { readonly name: string; readonly present: boolean }[];
  /** The provider library's own load, when its files are present. */
  readonly provider: { readonly error?: string } | null;
  readonly libraries: readonly LibraryStatus[];
  /** First line of /proc/driver/nvidia/version, when the kernel driver is loaded. */
  readonly driver: string | null;
  /** /dev/nvidiaN device nodes this process can see. */
  readonly devices: readonly string[];
  readonly cudaVisibleDevices: string | undefined;
  /** Everything missing, the piece that stops a CUDA session first at the front. Empty: none. */
  readonly missing: readonly MissingPiece[];
}

const DRIVER_FIX = 'install the NVIDIA driver on the host; in a container, run it with the NVIDIA container toolkit (docker run --gpus all)';

function libraryFix(soname: string): string {
  if (soname === 'libcuda.so.1') return DRIVER_FIX;
  return (
    `install the CUDA ${GPU_PACK.cuda} runtime, cuBLAS, cuRAND and cuDNN 9 (the nvidia/cuda:${GPU_PACK.cuda}.x cudnn-runtime image does), ` +
    'or point LD_LIBRARY_PATH at the lib folders of the nvidia-* Python wheels (docs/gpu.md)'
  );
}

function readDriver(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.trim() || null;
  } catch {
    return null;
  }
}

/**
 * The driver version in the kernel module's line: "NVRM version: NVIDIA UNIX x86_64 Kernel Module
 * 580.159.03 …" (proprietary) or "… Open Kernel Module for x86_64  580.65.06 …" (open).
 */
export function driverVersion(line: string): string | undefined {
  return /Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)/.exec(line)?.[1];
}

/** a < b for dotted numeric versions. */
function olderThan(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  }
  return false;
}

function deviceNodes(): string[] {
  try {
    return readdirSync('/dev').filter((n) => /^nvidia\d+$/.test(n)).sort().map((n) => `/dev/${n}`);
  } catch {
    return [];
  }
}

function readMarker(binDir: string): GpuReport['installedPack'] {
  try {
    const m = JSON.parse(readFileSync(path.join(binDir, INSTALL_MARKER), 'utf8')) as NonNullable<GpuReport['installedPack']>;
    return { package: m.package, version: m.version, integrity: m.integrity };
  } catch {
    return null;
  }
}

export interface ReportOptions {
  /** An onnxruntime-node package folder other than the one the gateway loads. */
  readonly onnxruntimeRoot?: string;
  /** CUDA_VISIBLE_DEVICES as the caller's environment has it. */
  readonly cudaVisibleDevices?: string;
  /** Where the kernel driver says its version (tests point it at a file of their own). */
  readonly driverVersionFile?: string;
}

export function gpuReport(opts: ReportOptions = {}): GpuReport {
  const ort = onnxruntimeInstall(opts.onnxruntimeRoot);
  const missing: MissingPiece[] = [];
  if (ort.version !== GPU_PACK.onnxruntime) {
    missing.push({
      name: `onnxruntime-node@${GPU_PACK.onnxruntime}`,
      what: 'the ONNX Runtime the CUDA provider was built for',
      fix: `found onnxruntime-node@${ort.version}; install the version package.json pins (npm ci)`,
    });
  }
  const providerFiles = Object.keys(GPU_PACK.files).map((name) => ({ name, present: existsSync(path.join(ort.binDir, name)) }));
  for (const f of providerFiles) {
    if (!f.present) missing.push({ name: f.name, what: `the GPU pack (${GPU_PACK.package}@${GPU_PACK.version})`, fix: 'run `sluice gpu install`' });
  }
  let provider: GpuReport['provider'] = null;
  if (providerFiles.every((f) => f.present)) {
    const error = loaderError(path.join(ort.binDir, CUDA_PROVIDER_FILE));
    provider = error === null ? {} : { error };
    if (error !== null) {
      const name = missingLibrary(error) ?? CUDA_PROVIDER_FILE;
      missing.push({ name, what: GPU_PACK.libraries[name] ?? 'a library the CUDA provider loads', fix: libraryFix(name), error });
    }
  }
  const libraries = Object.entries(GPU_PACK.libraries).map(([soname, what]): LibraryStatus => {
    const error = loaderError(soname);
    return error === null ? { soname, what } : { soname, what, error };
  });
  for (const l of libraries) {
    if (l.error !== undefined && !missing.some((m) => m.name === l.soname)) {
      missing.push({ name: l.soname, what: l.what, fix: libraryFix(l.soname), error: l.error });
    }
  }
  const driver = readDriver(opts.driverVersionFile ?? '/proc/driver/nvidia/version');
  const version = driver === null ? undefined : driverVersion(driver);
  if (version !== undefined && olderThan(version, GPU_PACK.minDriver)) {
    missing.push({
      name: `NVIDIA driver ${GPU_PACK.minDriver}`,
      what: `the oldest driver that runs CUDA ${GPU_PACK.cuda}`,
      fix: `this machine's driver is ${version}: upgrade the host's NVIDIA driver`,
    });
  }
  const devices = deviceNodes();
  if (devices.length === 0) {
    missing.push({ name: '/dev/nvidia0', what: 'a GPU visible to this process', fix: driver === null ? DRIVER_FIX : 'no /dev/nvidiaN node: in a container, pass the device (docker run --gpus all)' });
  }
  return {
    onnxruntime: { ...ort, paired: GPU_PACK.onnxruntime },
    installedPack: readMarker(ort.binDir),
    providerFiles,
    provider,
    libraries,
    driver,
    devices,
    cudaVisibleDevices: opts.cudaVisibleDevices,
    missing,
  };
}

/** Why a `cuda:N` session fell back to CPU, naming the first missing piece when one is found. */
export interface CudaFallback {
  readonly reason: string;
  /** The exact name of the missing library, file or device. */
  readonly missing?: string;
}

/** Explains ONNX Runtime's bare "Failed to load shared library" from the machine's state. */
export function explainCudaFallback(ortMessage: string): CudaFallback {
  let first: MissingPiece | undefined;
  try {
    first = gpuReport().missing[0];
  } catch (err) {
    // The explanation is a courtesy: a version that fell back still serves without it.
    return { reason: `${ortMessage} (the GPU report failed: ${(err as Error).message})` };
  }
  if (first === undefined) return { reason: ortMessage };
  return { reason: `${first.name} (${first.what}) is missing: ${first.fix}; ONNX Runtime said: ${ortMessage}`, missing: first.name };
}
