// Model metadata and readiness as the Open Inference Protocol reports them, read from the
// repository's version table.
import { SluiceError } from '../errors.js';
import type { ModelRepository } from '../repository/repository.js';
import type { Servable } from './servable.js';

type Repository = ModelRepository<Servable>;

function entryOf(repository: Repository, model: string) {
  const entry = repository.get(model);
  if (!entry) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model}"`);
  return entry;
}

function unknownVersion(model: string, version: number): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `model "${model}" has no version ${version}`);
}

/** Whether the model (or the given version) can serve now; 404 codes for unknown names. */
export function modelReadiness(repository: Repository, model: string, version?: number): { name: string; ready: boolean } {
  const entry = entryOf(repository, model);
  if (version !== undefined && !entry.versions.has(version)) throw unknownVersion(model, version);
  try {
    repository.resolve(model, version);
    return { name: model, ready: true };
  } catch {
    return { name: model, ready: false };
  }
}

/** OIP model metadata; with a version (or a serving one) it adds state, sha256, device and provider. */
export function modelMetadata(repository: Repository, model: string, version?: number): Record<string, unknown> {
  const entry = entryOf(repository, model);
  const v = versionOf(repository, entry, model, version);
  const config = v?.handle?.config;
  const ready = [...entry.versions.values()].filter((x) => x.state === 'READY').map((x) => String(x.version));
  const meta: Record<string, unknown> = {
    name: model,
    versions: ready.sort((a, b) => Number(a) - Number(b)),
    platform: 'onnxruntime_onnx',
    // Without a loaded version, what model.json declares (the graph fills the rest at load).
    // OIP's tensor metadata is {name, datatype, shape}; batch dims are in the /config answer.
    inputs: oipTensors(config?.inputs ?? entry.file.inputs ?? []),
    outputs: oipTensors(config?.outputs ?? entry.file.outputs ?? []),
  };
  const configError = entry.configError ?? (v?.failure?.code === 'SLUICE_ERR_MODEL_CONFIG_INVALID' ? v.failure : undefined);
  if (v || configError) {
    meta.parameters = {
      ...(v
        ? {
            version: String(v.version),
            state: v.state,
            sha256: v.sha256 ?? null,
            device: v.handle?.device ?? entry.file.device,
            execution_provider: v.handle?.provider ?? null,
            ...(v.handle?.fallback ? { execution_provider_fallback: v.handle.fallback } : {}),
            max_batch_size: config?.batching.maxBatchSize ?? null,
            ...(v.reason ? { reason: v.reason } : {}),
          }
        : {}),
      ...(configError ? { config_error: configError.toWire() } : {}),
    };
  }
  return meta;
}

/**
 * The effective config of a loaded version (model.json over the graph), as model.json would
 * spell it: the serving version's, or the one asked for. 503 while none is loaded.
 */
export function modelConfig(repository: Repository, model: string, version?: number): Record<string, unknown> {
  const entry = entryOf(repository, model);
  const v = versionOf(repository, entry, model, version);
  const config = v?.handle?.config;
  if (!v || !config) {
    throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', `model "${model}"${version === undefined ? '' : ` version ${version}`} has no loaded version to read the config of`, {
      retryAfterS: 1,
    });
  }
  return { version: String(v.version), ...config };
}

function oipTensors(tensors: readonly { name: string; datatype?: string; shape?: readonly number[] }[]) {
  return tensors.map((t) => ({ name: t.name, datatype: t.datatype ?? null, shape: t.shape ?? null }));
}

/** The asked version (404 when unknown), else the serving one, else undefined. */
function versionOf(repository: Repository, entry: ReturnType<typeof entryOf>, model: string, version: number | undefined) {
  if (version !== undefined) {
    const v = entry.versions.get(version);
    if (!v) throw unknownVersion(model, version);
    return v;
  }
  try {
    return repository.resolve(model);
  } catch {
    return undefined;
  }
}
