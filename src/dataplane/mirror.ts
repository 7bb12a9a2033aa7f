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
 * Sends `request` to every shadow and reports each copy's outcome: a failed copy as dropped (by
 * reason) when it fails, an answered one as compared once `primary` (the primary's pending answer)
 * is in too. `onShadowAnswer` hears each shadow answer as it comes (the prediction log records it
 * whatever the primary did). A primary that failed leaves nothing to compare: an answered copy is
 * then not compared, and a failed one is still dropped by its reason.
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
    // Two callbacks on the copy, one on the primary: no Promise.allSettled array and result objects per copy.
    copy.then(
      (sr) => {
        onShadowAnswer?.(shadow, sr);
        primary.then(
          (pr) => sink.answered(model, p, s, { primary: pr.outputs, shadow: sr.outputs, primaryUs: pr.queueUs + pr.computeUs, shadowUs: sr.queueUs + sr.computeUs }),
          () => undefined,
        );
      },
      (err: SluiceError | undefined) => sink.dropped(model, p, s, (err?.code !== undefined ? DROP_OF[err.code] : undefined) ?? 'error'),
    );
  }
}
