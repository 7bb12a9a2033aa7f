// How a failed run reaches the batcher: the same SluiceError whether the batch ran in a worker
// or inline on the main thread, so both paths answer (and are logged) alike.
import { SluiceError } from '../errors.js';

/**
 * `message` is the runtime's text, already cleaned of internal paths (ort-text.ts). `rejected`:
 * the runtime refused these inputs (a 400 the client can act on, e.g. an image side that is not
 * a multiple of 32); otherwise the server failed the batch (500).
 */
export function runFailure(message: string, rejected: boolean): SluiceError {
  return rejected
    ? new SluiceError('SLUICE_ERR_INPUT_REJECTED', `the model refused the input: ${message}`)
    : new SluiceError('SLUICE_ERR_INFERENCE_FAILED', `inference failed: ${message}`);
}
