// Entry of the short-lived process that opens one model.onnx for inspectModel (inspect.ts):
// it loads the graph once at the requested log severity, so that ORT's own log lines land
// on this process's stderr (piped and parsed by the parent) and a crash of ORT on a
// corrupt or hostile model kills only this process. Run with child_process.fork; imports
// only onnxruntime-node (lazily, so a broken binding becomes a reply, not a crash), node
// builtins and the pure text helpers.

import type * as Ort from 'onnxruntime-node';
import type { GraphTensor, InspectReply, InspectRequest } from './inspect.js';
import { ORT_SEVERITIES, cleanOrtMessage } from './ort-text.js';

function isRequest(msg: unknown): msg is InspectRequest {
  if (typeof msg !== 'object' || msg === null) return false;
  const { modelPath, logSeverityLevel } = msg as Record<string, unknown>;
  return (
    typeof modelPath === 'string' &&
    typeof logSeverityLevel === 'number' &&
    Number.isInteger(logSeverityLevel) &&
    logSeverityLevel >= 0 &&
    logSeverityLevel <= 4
  );
}

/** Metadata as onnxruntime-node 1.30 gives it: symbolic dims are names, unnamed ones "". */
function toGraphTensor(meta: Ort.InferenceSession.ValueMetadata): GraphTensor {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', dims: [], dimNames: [] };
  const dims: number[] = [];
  const dimNames: (string | null)[] = [];
  for (const d of meta.shape) {
    const fixed = typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
    dims.push(fixed ? d : -1);
    dimNames.push(typeof d === 'string' && d !== '' ? d : null);
  }
  return { name: meta.name, type: meta.type, dims, dimNames };
}

async function inspect(req: InspectRequest): Promise<InspectReply> {
  let session: Ort.InferenceSession | undefined;
  try {
    const ort = await import('onnxruntime-node');
    // The environment logger (device discovery, arenas) is created with the first session
    // and keeps this level; the session's own logger takes logSeverityLevel.
    ort.env.logLevel = ORT_SEVERITIES[req.logSeverityLevel];
    session = await ort.InferenceSession.create(req.modelPath, {
      logSeverityLevel: req.logSeverityLevel,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
    });
    return {
      ok: true,
      inputs: session.inputMetadata.map(toGraphTensor),
      outputs: session.outputMetadata.map(toGraphTensor),
    };
  } catch (err) {
    return { ok: false, message: cleanOrtMessage(err instanceof Error ? err.message : String(err)) };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

// The parent gone, nobody is left to answer: leave at once (the parent kills a child that
// outlives its timeout, so this only matters when the parent itself died).
process.once('disconnect', () => process.exit(0));

process.once('message', (msg: unknown) => {
  const answer = isRequest(msg)
    ? inspect(msg)
    : Promise.resolve<InspectReply>({ ok: false, message: 'malformed inspection request' });
  void answer.then((reply) => {
    // Exit only once the reply is in the channel. ORT writes its log to fd 2 synchronously
    // from native code, so nothing of it is still buffered in this process.
    process.send!(reply, undefined, {}, () => process.exit(0));
  });
});
