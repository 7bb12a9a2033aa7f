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
  let v;
  if (version === undefined) {
    try {
      v = repository.resolve(model);
    } catch {
      v = undefined;
    }
  } else {
    v = entry.versions.get(version);
    if (!v) throw unknownVersion(model, version);
  }
  const config = v?.handle?.config ?? entry.config;
  if (!config) throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', `model "${model}" has no valid config`);
  const ready = [...entry.versions.values()].filter((x) => x.state === 'READY').map((x) => String(x.version));
  const meta: Record<string, unknown> = {
    name: model,
    versions: ready.sort((a, b) => Number(a) - Number(b)),
    platform: config.platform,
    inputs: config.inputs,
    outputs: config.outputs,
  };
  if (v) {
    meta.parameters = {
      version: String(v.version),
      state: v.state,
      sha256: v.sha256 ?? null,
      device: v.handle?.device ?? config.device,
      execution_provider: v.handle?.provider ?? null,
      max_batch_size: config.batching.maxBatchSize,
      ...(v.reason ? { reason: v.reason } : {}),
    };
  }
  return meta;
}
