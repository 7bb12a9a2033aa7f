// Shadow copies of a routed request (DESIGN §7): each shadow in the plan gets the primary's
// validated input tensors (shared, not copied: the batcher only reads them into its batch) on its
// low-priority lane, and its answer is compared with the primary's once both are in. Nothing here
// can delay or fail the primary: the copies are fire-and-forget, every outcome is reported to the sink.
import type { SluiceError } from '../errors.js';
import type { BatchOutcome } from '../batching/batcher.js';
import type { InferRequest, Tensor } from '../types.js';
import type { Servable } from './servable.js';

/** Why a copy ended without an answer to compare. */
export type ShadowDrop = 'queue_full' | 'deadline' | 'shutting_down' | 'error';

/** Where mirroring reports (the shadow board, metrics). Must not throw. */
export interface ShadowSink {
  mirrored(model: string, primary: string, shadow: string): void;
  dropped(model: string, primary: string, shadow: string, reason: ShadowDrop): void;
  answered(model: string, primary: string, shadow: string, answers: { primary: Tensor[]; shadow: Tensor[]; primaryUs: number; shadowUs: number }): void;
}

const DROP_OF: Partial<Record<SluiceError['code'], ShadowDrop>> = {
  SLUICE_ERR_QUEUE_FULL: 'queue_full',
  SLUICE_ERR_DEADLINE_EXCEEDED: 'deadline',
  SLUICE_ERR_SHUTTING_DOWN: 'shutting_down',
};

/**
 * Sends `request` to every shadow and reports each outcome once `primary` (the primary's pending
 * answer) and the shadow's have settled; `onShadowAnswer` hears each shadow answer as it comes
 * (the prediction log records it whatever the primary did). A primary that failed leaves nothing to compare: the
 * copy is then reported as dropped with reason "error" only if it failed too, else not compared.
 */
export function mirror(
  sink: ShadowSink,
  primaryServable: Servable,
  shadows: readonly Servable[],
  request: InferRequest,
  primary: Promise<BatchOutcome>,
  onShadowAnswer?: (shadow: Servable, outcome: BatchOutcome) => void,
): void {
  const model = primaryServable.model;
  const p = String(primaryServable.version);
  for (const shadow of shadows) {
    const s = String(shadow.version);
    sink.mirrored(model, p, s);
    const copy = shadow.batcher.submit({
      inputs: request.inputs,
      rows: request.rows,
      deadlineUs: request.deadlineUs,
      receivedUs: request.receivedUs,
      priority: 1,
    });
    if (onShadowAnswer) copy.then((outcome) => onShadowAnswer(shadow, outcome), () => undefined);
    Promise.allSettled([primary, copy]).then(([pr, sr]) => {
      if (sr.status === 'rejected') {
        const code = (sr.reason as SluiceError | undefined)?.code;
        sink.dropped(model, p, s, (code !== undefined ? DROP_OF[code] : undefined) ?? 'error');
      } else if (pr.status === 'fulfilled') {
        sink.answered(model, p, s, {
          primary: pr.value.outputs,
          shadow: sr.value.outputs,
          primaryUs: pr.value.queueUs + pr.value.computeUs,
          shadowUs: sr.value.queueUs + sr.value.computeUs,
        });
      }
    });
  }
}
