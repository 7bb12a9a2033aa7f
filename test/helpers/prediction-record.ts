// One prediction log record for the log's unit tests (line bytes, the record ring): a digits
// answer with every field set, optional ones absent; `over` replaces any of them.
import type { PredictionRecord } from '../../src/predlog/record.js';

export function predictionRecord(over: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    seq: 41,
    run: '0a1b2c3d',
    id: 'req-1',
    model: 'digits',
    version: '2',
    sha256: 'f'.repeat(64),
    shadow: false,
    primary_id: undefined,
    batch_id: 7,
    batch_size: 28,
    rows: 1,
    queue_us: 1200,
    compute_us: 310,
    total_us: 1650,
    protocol: 'http_json',
    status: 200,
    code: 'OK',
    client_id: undefined,
    outputs: [],
    inputs: undefined,
    ...over,
  };
}

/** The fields of a refusal before routing: no version, no batch, no stage times. */
export const REFUSED_BEFORE_ROUTING: Partial<PredictionRecord> = {
  version: null,
  sha256: null,
  batch_id: null,
  batch_size: null,
  rows: null,
  queue_us: null,
  compute_us: null,
  status: 429,
  code: 'SLUICE_ERR_QUEUE_FULL',
};
