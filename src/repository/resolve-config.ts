// A version's effective config: what model.json declares over what the ONNX graph says (as
// Triton's auto-complete does for ONNX). Tensors are matched by name; whatever model.json leaves
// out comes from the graph; whatever it says must agree with the graph, or the version is refused
// with one detail per contradiction naming the tensor and both values.
//
// Batching: maxBatchSize from model.json, else 64 (256 on a cuda:N device) when the graph shows it
// (every input and output has a free dim 0) or model.json names a batch dim, else 0 (the model does not batch: shapes are
// full shapes, each request runs alone). With maxBatchSize > 0 each tensor's batch dim is its
// declared `batchDim` (default 0; a rank-0 input defaults to none: it cannot have one).
import type { BatchingConfig, DataType, FeatureSpec, TensorSpec } from '../types.js';
import { checkClasses, parseFeatures } from './feature-config.js';
import { configInvalid, DATATYPES, DEFAULT_BATCHING, deepFreeze, GPU_DEFAULT_MAX_BATCH_SIZE, type DeclaredTensor, type ModelFile, type ModelSettings } from './model-file.js';

/** A named feature as model.json declares it (see types.ts). */
export type FeatureConfig = FeatureSpec;

/** A version's effective config: model.json over the graph, resolved and frozen. */
export interface ModelConfig extends ModelSettings {
  readonly platform: 'onnxruntime_onnx';
  /** Full shapes; batchDim is always set (a number, or null for none). */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** maxBatchSize 0: the model does not batch and every shape is a full shape (Triton's meaning). */
  readonly batching: BatchingConfig;
  /** Named features, one per column of `featuresInput` in column order; absent: no /v1 predict. */
  readonly features?: readonly FeatureConfig[];
  /** Where the tensors came from. */
  readonly source: 'model.json' | 'graph' | 'model.json + graph';
}

/** A tensor as the ONNX graph declares it (see inference/inspect.ts, which reads it). */
export interface GraphTensor {
  readonly name: string;
  /** ONNX Runtime's element type name: float32, int64, bool, float16, string, ... */
  readonly type: string;
  /** -1 for every free dim. */
  readonly dims: readonly number[];
}

export interface GraphSignature {
  readonly inputs: readonly GraphTensor[];
  readonly outputs: readonly GraphTensor[];
}

const FROM_ORT: Readonly<Record<string, DataType>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float32: 'FP32',
  float64: 'FP64',
};

type Side = 'inputs' | 'outputs';

/**
 * Merges `file` (absent: no model.json) over `graph` (absent: model.json must declare every
 * tensor in full) and checks the result. Throws SLUICE_ERR_MODEL_CONFIG_INVALID.
 */
export function resolveModelConfig(file: ModelFile, graph: GraphSignature | undefined, where = 'model.json'): ModelConfig {
  const details: string[] = [];
  const inputs = tensorsOf('inputs', file, graph, details);
  const outputs = tensorsOf('outputs', file, graph, details);
  const batching = batchingOf(file, graph, inputs, outputs, details);
  const laid = {
    inputs: withBatchDims('inputs', inputs, batching.maxBatchSize, details),
    outputs: withBatchDims('outputs', outputs, batching.maxBatchSize, details),
  };
  if (batching.maxBatchSize > 0 && laid.inputs.length > 0 && laid.inputs.every((t) => t.batchDim === null)) {
    details.push('/batching/maxBatchSize: no input has a batch dim; name one with "batchDim", or set "maxBatchSize": 0 for a model that does not batch');
  }
  if (file.warmup !== undefined && 'shapes' in file.warmup) checkWarmupShapes(file.warmup.shapes, laid.inputs, details);
  const named = parseFeatures({ ...file, ...laid, maxBatchSize: batching.maxBatchSize }, details);
  if (file.classes !== undefined) checkClasses(file.classes, laid.outputs, details);
  if (details.length > 0) throw configInvalid(where, details);
  const declared = file.inputs !== undefined || file.outputs !== undefined;
  return deepFreeze({
    name: file.name,
    description: file.description,
    platform: 'onnxruntime_onnx',
    inputs: laid.inputs,
    outputs: laid.outputs,
    batching,
    defaultTimeoutMs: file.defaultTimeoutMs,
    device: file.device,
    versionPolicy: file.versionPolicy,
    ...(file.required === undefined ? {} : { required: file.required }),
    ...(file.warmup === undefined ? {} : { warmup: file.warmup }),
    ...(file.promotionGate === undefined ? {} : { promotionGate: file.promotionGate }),
    ...(file.shadowTopK === undefined ? {} : { shadowTopK: file.shadowTopK }),
    ...named,
    ...(file.classes === undefined ? {} : { classes: file.classes }),
    source: graph === undefined ? 'model.json' : declared ? 'model.json + graph' : 'graph',
  });
}

/** Tensors of one side, model.json over the graph, without batch dims yet. */
function tensorsOf(side: Side, file: ModelFile, graph: GraphSignature | undefined, details: string[]): { spec: TensorSpec; declared?: DeclaredTensor; at?: string }[] {
  const declared = file[side];
  if (graph === undefined) {
    if (declared === undefined) {
      details.push(`/${side}: required when the graph is not read`);
      return [];
    }
    return declared.map((d, i) => {
      const at = `/${side}/${i}`;
      if (d.datatype === undefined) details.push(`${at}/datatype: required when the graph is not read`);
      if (d.shape === undefined) details.push(`${at}/shape: required when the graph is not read`);
      return { spec: { name: d.name, datatype: d.datatype ?? 'FP32', shape: [...(d.shape ?? [])] }, declared: d, at };
    });
  }
  const fromGraph = graph[side];
  (declared ?? []).forEach((d, i) => {
    if (!fromGraph.some((g) => g.name === d.name)) {
      details.push(`/${side}/${i}/name: ${JSON.stringify(d.name)} is not ${side === 'inputs' ? 'an input' : 'an output'} of the graph (its ${side}: ${fromGraph.map((g) => JSON.stringify(g.name)).join(', ')})`);
    }
  });
  return fromGraph.map((g) => {
    const i = declared?.findIndex((d) => d.name === g.name) ?? -1;
    const d = i >= 0 ? declared?.[i] : undefined;
    const at = i >= 0 ? `/${side}/${i}` : undefined;
    return { spec: mergeTensor(side, g, d, at, details), ...(d ? { declared: d, at } : {}) };
  });
}

function mergeTensor(side: Side, g: GraphTensor, d: DeclaredTensor | undefined, at: string | undefined, details: string[]): TensorSpec {
  const name = JSON.stringify(g.name);
  const graphType = FROM_ORT[g.type];
  if (graphType === undefined) {
    details.push(`${side.slice(0, -1)} ${name}: the graph's datatype ${g.type} is not served (sluice serves ${DATATYPES.join(', ')})`);
  }
  if (d?.datatype !== undefined && graphType !== undefined && d.datatype !== graphType) {
    details.push(`${at}/datatype: model.json says ${d.datatype} but the graph's ${side.slice(0, -1)} ${name} is ${graphType}`);
  }
  let shape = [...g.dims];
  if (d?.shape !== undefined) {
    if (d.shape.length !== g.dims.length) {
      details.push(`${at}/shape: model.json says rank ${d.shape.length} [${d.shape.join(', ')}] but the graph's ${side.slice(0, -1)} ${name} has rank ${g.dims.length} [${g.dims.join(', ')}]`);
    } else {
      d.shape.forEach((dim, k) => {
        const fixed = g.dims[k]!;
        if (fixed !== -1 && dim !== fixed) {
          details.push(`${at}/shape/${k}: model.json says ${dim} but the graph fixes dim ${k} of ${name} at ${fixed}`);
        }
      });
      shape = [...d.shape];
    }
  }
  return { name: g.name, datatype: d?.datatype ?? graphType ?? 'FP32', shape };
}

function batchingOf(file: ModelFile, graph: GraphSignature | undefined, inputs: { spec: TensorSpec }[], outputs: { spec: TensorSpec }[], details: string[]): BatchingConfig {
  const given = file.batching.maxBatchSize;
  const namesBatchDim = [...(file.inputs ?? []), ...(file.outputs ?? [])].some((t) => typeof t.batchDim === 'number');
  const leadingFree = [...inputs, ...outputs].every((t) => t.spec.shape.length > 0 && t.spec.shape[0] === -1);
  const batches = namesBatchDim || (graph === undefined ? leadingFree : leadingFree && graph.inputs.length > 0);
  const defaultMax = file.device.startsWith('cuda:') ? GPU_DEFAULT_MAX_BATCH_SIZE : DEFAULT_BATCHING.maxBatchSize;
  const maxBatchSize = given ?? (batches ? defaultMax : 0);
  const maxQueueSize = file.batching.maxQueueSize ?? DEFAULT_BATCHING.maxQueueSize;
  const batching: BatchingConfig = {
    maxBatchSize,
    maxQueueDelayUs: file.batching.maxQueueDelayUs ?? DEFAULT_BATCHING.maxQueueDelayUs,
    preferredBatchSizes: [...(file.batching.preferredBatchSizes ?? [])],
    maxQueueSize,
    maxShadowQueueSize: file.batching.maxShadowQueueSize ?? defaultShadowQueueSize(maxBatchSize, maxQueueSize),
  };
  if (batching.preferredBatchSizes.some((s) => s > maxBatchSize)) {
    details.push(maxBatchSize === 0 ? '/batching/preferredBatchSizes: a model that does not batch (maxBatchSize 0) has none' : '/batching/preferredBatchSizes: every size must be <= maxBatchSize');
  }
  return batching;
}

/** Sets each tensor's batchDim and checks that it can be one. */
function withBatchDims(side: Side, tensors: { spec: TensorSpec; declared?: DeclaredTensor; at?: string }[], maxBatchSize: number, details: string[]): TensorSpec[] {
  return tensors.map(({ spec, declared, at }) => {
    const asked = declared !== undefined && 'batchDim' in declared ? declared.batchDim : undefined;
    const where = at ?? `${side.slice(0, -1)} ${JSON.stringify(spec.name)} (from the graph)`;
    if (maxBatchSize === 0) {
      if (typeof asked === 'number') details.push(`${where}/batchDim: the model does not batch (maxBatchSize 0), so no tensor has a batch dim; remove it or set "maxBatchSize"`);
      return { ...spec, batchDim: null };
    }
    const rank = spec.shape.length;
    const batchDim = asked !== undefined ? asked : side === 'inputs' && rank === 0 ? null : 0;
    if (batchDim === null) {
      if (side === 'outputs') {
        details.push(`${where}/batchDim: every output of a batching model needs a batch dim, to split the answers per request; or set "maxBatchSize": 0`);
      }
      return { ...spec, batchDim };
    }
    if (batchDim >= rank) {
      details.push(`${where}/batchDim: ${batchDim} is not a dim of the tensor (rank ${rank}, shape [${spec.shape.join(', ')}])`);
    } else if (spec.shape[batchDim] !== -1) {
      details.push(
        `${at === undefined ? `${where}, dim ${batchDim}` : `${at}/shape/${batchDim}`}: the batch dimension must be -1, it is ${spec.shape[batchDim]}; ` +
          'name the real batch dim with "batchDim", set "batchDim": null for a tensor shared by every row, or set "maxBatchSize": 0 for a model without one',
      );
    }
    return { ...spec, batchDim };
  });
}

function checkWarmupShapes(shapes: Readonly<Record<string, readonly number[]>>, inputs: readonly TensorSpec[], details: string[]): void {
  for (const [name, shape] of Object.entries(shapes)) {
    const spec = inputs.find((t) => t.name === name);
    const at = `/warmup/shapes/${name}`;
    if (spec === undefined) {
      details.push(`${at}: ${JSON.stringify(name)} is not an input (inputs: ${inputs.map((t) => JSON.stringify(t.name)).join(', ')})`);
    } else if (shape.length !== spec.shape.length || shape.some((d, k) => d < 1 || (spec.shape[k] !== -1 && spec.shape[k] !== d))) {
      details.push(`${at}: [${shape.join(', ')}] does not fit input ${JSON.stringify(name)} of shape [${spec.shape.join(', ')}] (give every dim, each at least 1)`);
    }
  }
  for (const t of inputs) if (!(t.name in shapes)) details.push(`/warmup/shapes: input ${JSON.stringify(t.name)} is missing (give the full shape of every input)`);
}

/**
 * Two full batches of one-row copies (at least one copy, at most maxQueueSize). A shadow that
 * falls further behind than that sheds the copy at once rather than holding it: measured in the
 * shadow benchmark, copies held up to maxQueueSize for seconds kept their requests alive through
 * young-generation GCs, and the primary's p99 at half load rose 1.55x-1.61x under mirroring
 * against 1.31x with this bound (docs/shadow.md).
 */
function defaultShadowQueueSize(maxBatchSize: number, maxQueueSize: number): number {
  return Math.min(maxQueueSize, 2 * Math.max(1, maxBatchSize));
}
