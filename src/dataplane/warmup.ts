// Warmup inputs that fit the model (DESIGN §4: a version is READY only after a warmup batch ran).
// Declared in model.json (`warmup.shapes`: zero-filled tensors of those full shapes; `warmup.sample`:
// a request file in the model directory), else the smallest shapes the graph accepts, found by
// trying every free dim at 1, 2, 4, … 1024 in turn (zeros; batch dims 1). A model whose every dim
// but the batch dims is fixed has one candidate: zeros at its largest batch, so the first real
// batch pays no allocation warm-up.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseJsonBody } from '../codec/json-body.js';
import { SluiceError } from '../errors.js';
import type { WireTensor } from '../inference/messages.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { TensorSpec } from '../types.js';
import { LAYOUT } from '../util/dtype-layout.js';
import type { RequestValidator } from '../validation/request-validator.js';

/** Free-dim sizes tried, smallest first. */
export const WARMUP_SEARCH_SIZES: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** True when a run's cost depends on its rows only: every dim but the batch dims is fixed. */
export function hasFixedShape(config: ModelConfig): boolean {
  return config.inputs.every((t) => t.shape.every((d, k) => d !== -1 || k === t.batchDim));
}

/** The warmup candidates to try in order (pool.load runs the first one the model accepts). */
export async function warmupCandidates(config: ModelConfig, modelDir: string, validate: RequestValidator): Promise<WireTensor[][]> {
  const warmup = config.warmup;
  if (warmup !== undefined && 'sample' in warmup) return [await readSample(path.join(modelDir, warmup.sample), validate)];
  if (warmup !== undefined) return [zeros(config.inputs, (t, k) => warmup.shapes[t.name]![k]!)];
  if (hasFixedShape(config)) {
    const rows = Math.max(1, config.batching.maxBatchSize);
    return [zeros(config.inputs, (t, k) => (k === t.batchDim ? rows : t.shape[k]!))];
  }
  return WARMUP_SEARCH_SIZES.map((size) => zeros(config.inputs, (t, k) => (k === t.batchDim ? 1 : t.shape[k] === -1 ? size : t.shape[k]!)));
}

/** What the version's metadata and log say about a warmup that found no candidate. */
export function warmupAdvice(config: ModelConfig): string {
  return config.warmup !== undefined
    ? 'the declared warmup inputs do not run; fix "warmup" in model.json'
    : hasFixedShape(config)
      ? 'zero-filled inputs do not run; declare "warmup": {"sample": "<request>.json"} in model.json'
      : `no free-dim size in ${WARMUP_SEARCH_SIZES.join(', ')} runs with zero-filled inputs; declare "warmup" (shapes or a sample request) in model.json`;
}

function zeros(specs: readonly TensorSpec[], dim: (t: TensorSpec, k: number) => number): WireTensor[] {
  return specs.map((t) => {
    const shape = t.shape.map((_d, k) => dim(t, k));
    const count = shape.reduce((a, b) => a * b, 1);
    return { name: t.name, datatype: t.datatype, shape, data: new LAYOUT[t.datatype].ctor(count) };
  });
}

async function readSample(file: string, validate: RequestValidator): Promise<WireTensor[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_MODEL_WARMUP_FAILED', `warmup sample ${path.basename(file)} cannot be read: ${(err as Error).message}`);
  }
  try {
    return validate(parseJsonBody(bytes)).inputs;
  } catch (err) {
    const e = err as SluiceError;
    throw new SluiceError('SLUICE_ERR_MODEL_WARMUP_FAILED', `warmup sample ${path.basename(file)} is not a valid request for the model: ${e.message}`, {
      details: e.details,
      cause: err,
    });
  }
}
