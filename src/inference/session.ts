// Thin wrapper over onnxruntime-node sessions, used only inside worker threads.
import * as ort from 'onnxruntime-node';
import type { DataType, TensorData } from '../types.js';
import type { SessionSpec, WireTensor } from './messages.js';
import { cleanOrtMessage } from './ort-text.js';

// Sessions in the server run silent: ONNX Runtime would print its own coloured text log onto the
// process's stderr. Its load-time messages are read once per version in a child process and
// logged as JSON (inspect.ts); run failures come back as exceptions (ModelRunError).
ort.env.logLevel = 'fatal';
const SILENT = 4;

/**
 * The runtime refused a batch: its message, cleaned of internal source paths. `resource` marks a
 * failure of the machine (memory, device) rather than of the input.
 */
export class ModelRunError extends Error {
  constructor(
    message: string,
    readonly resource: boolean,
  ) {
    super(message);
    this.name = 'ModelRunError';
  }
}

/** Texts of ONNX Runtime failures that are the machine's, not the input's. */
const RESOURCE_FAILURE = /alloc|out of memory|CUDA|cuDNN|cublas|device/i;

const ORT_TYPE: Record<DataType, ort.Tensor.Type> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
};

const FROM_ORT = new Map<string, DataType>(Object.entries(ORT_TYPE).map(([k, v]) => [v, k as DataType]));

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: string;
  fallbackReason?: string;
}

function sessionOptions(spec: SessionSpec, providers: ort.InferenceSession.ExecutionProviderConfig[]): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    intraOpNumThreads: spec.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: SILENT,
    graphOptimizationLevel: 'all',
    // Spinning threads burn a core while idle; with one worker per core they steal it from
    // the event loop and the other workers (DESIGN §6).
    extra: { session: { intra_op: { allow_spinning: spec.allowSpinning ? '1' : '0' } } },
  };
}

/**
 * Creates a session on the spec's device. A `cuda:N` device whose provider cannot load
 * falls back to CPU; the reason is returned so the main thread logs it once.
 */
export async function createSession(spec: SessionSpec): Promise<LoadedSession> {
  if (spec.device.startsWith('cuda:')) {
    const deviceId = Number(spec.device.slice(5));
    try {
      const session = await ort.InferenceSession.create(spec.modelPath, sessionOptions(spec, [{ name: 'cuda', deviceId }]));
      return { session, provider: 'cuda' };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const session = await ort.InferenceSession.create(spec.modelPath, sessionOptions(spec, ['cpu']));
      return { session, provider: 'cpu', fallbackReason: reason };
    }
  }
  const session = await ort.InferenceSession.create(spec.modelPath, sessionOptions(spec, ['cpu']));
  return { session, provider: 'cpu' };
}

/** Runs one batch; outputs own exactly-sized buffers so they can be transferred. */
export async function runSession(session: ort.InferenceSession, inputs: WireTensor[], outputNames: string[]): Promise<WireTensor[]> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) feeds[t.name] = new ort.Tensor(ORT_TYPE[t.datatype], t.data as never, t.shape);
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds, outputNames);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    throw new ModelRunError(cleanOrtMessage(text), RESOURCE_FAILURE.test(text));
  }
  return outputNames.map((name) => {
    const r = results[name];
    if (!r) throw new Error(`model produced no output "${name}"`);
    const datatype = FROM_ORT.get(r.type);
    if (!datatype) throw new Error(`output "${name}" has unsupported type ${r.type}`);
    let data = r.data as TensorData;
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice() as TensorData;
    return { name, datatype, shape: r.dims.map(Number), data };
  });
}
