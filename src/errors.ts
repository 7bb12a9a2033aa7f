// The one place where sluice's error codes live. Every code has a stable name
// (SLUICE_ERR_<AREA>_<WHAT>), an HTTP status and a one-line meaning; docs/errors.md
// lists the same table and test/errors.test.ts keeps the two in step.

export const ERROR_CODES = {
  // Transport and body decoding
  SLUICE_ERR_HTTP_ROUTE_NOT_FOUND: { status: 404, meaning: 'no such endpoint' },
  SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED: { status: 405, meaning: 'endpoint exists, method does not' },
  SLUICE_ERR_HTTP_FRAMING_INVALID: { status: 400, meaning: 'Content-Length given more than once (RFC 9112 §6.3: the framing is invalid)' },
  SLUICE_ERR_HTTP_TRANSFER_CODING: { status: 501, meaning: 'a Transfer-Encoding other than chunked (gzip, deflate, …) is not implemented' },
  SLUICE_ERR_BODY_TOO_LARGE: { status: 413, meaning: 'request body over the byte cap' },
  SLUICE_ERR_BODY_CONTENT_TYPE: { status: 415, meaning: 'unsupported Content-Type' },
  SLUICE_ERR_JSON_MALFORMED: { status: 400, meaning: 'body is not valid JSON' },
  SLUICE_ERR_JSON_FORBIDDEN_KEY: { status: 400, meaning: '__proto__, constructor or prototype key in the body' },
  SLUICE_ERR_JSON_TOO_DEEP: { status: 400, meaning: 'nesting deeper than the cap' },
  SLUICE_ERR_MSGPACK_MALFORMED: { status: 400, meaning: 'body is not one complete MessagePack map (truncated, trailing bytes, reserved byte, invalid UTF-8)' },
  SLUICE_ERR_MSGPACK_FORBIDDEN_KEY: { status: 400, meaning: '__proto__, constructor or prototype key in a MessagePack body' },
  SLUICE_ERR_MSGPACK_TOO_DEEP: { status: 400, meaning: 'MessagePack nesting deeper than the cap' },
  SLUICE_ERR_MSGPACK_OVER_LIMIT: { status: 400, meaning: 'a MessagePack array, map, string or value count over its cap' },
  SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE: { status: 400, meaning: 'extension type, non-string map key, or binary data outside an input data field' },
  SLUICE_ERR_BINARY_HEADER_LENGTH: { status: 400, meaning: 'Inference-Header-Content-Length is not an integer within the body' },
  SLUICE_ERR_BINARY_INPUT_DATA: { status: 400, meaning: 'an input has both or neither of data and parameters.binary_data_size' },
  SLUICE_ERR_BINARY_DATA_SIZE: { status: 400, meaning: 'binary_data_size is not an integer or differs from shape x datatype size' },
  SLUICE_ERR_BINARY_DATA_LENGTH: { status: 400, meaning: 'bytes after the header differ from the sum of binary_data_size' },
  SLUICE_ERR_BINARY_RAW_UNSUPPORTED: { status: 400, meaning: 'raw binary body for a model that has not exactly one input with a deducible shape' },
  // Request validation
  SLUICE_ERR_REQUEST_INVALID: { status: 400, meaning: 'request does not match the inference request schema' },
  SLUICE_ERR_INPUT_UNKNOWN: { status: 400, meaning: 'input name the model does not declare' },
  SLUICE_ERR_INPUT_MISSING: { status: 400, meaning: 'a declared input is missing' },
  SLUICE_ERR_INPUT_DUPLICATE: { status: 400, meaning: 'the same input given twice' },
  SLUICE_ERR_INPUT_DATATYPE: { status: 400, meaning: 'datatype differs from the declared one' },
  SLUICE_ERR_INPUT_SHAPE: { status: 400, meaning: 'shape does not match the declared dims' },
  SLUICE_ERR_INPUT_DATA_LENGTH: { status: 400, meaning: 'data length is not the product of the shape' },
  SLUICE_ERR_INPUT_DATA_TYPE: { status: 400, meaning: 'a data element has the wrong JSON type' },
  SLUICE_ERR_INPUT_NON_FINITE: { status: 400, meaning: 'NaN, Infinity or null in numeric data' },
  SLUICE_ERR_INPUT_OUT_OF_RANGE: { status: 400, meaning: 'value outside its datatype range (integers, FP32 overflow)' },
  SLUICE_ERR_BATCH_EMPTY: { status: 400, meaning: 'batch dimension is 0' },
  SLUICE_ERR_BATCH_TOO_LARGE: { status: 400, meaning: 'batch dimension over the model maxBatchSize' },
  SLUICE_ERR_BATCH_MISMATCH: { status: 400, meaning: 'inputs disagree on the batch dimension' },
  SLUICE_ERR_OUTPUT_UNKNOWN: { status: 400, meaning: 'requested output the model does not declare' },
  SLUICE_ERR_PARAMETER_INVALID: { status: 400, meaning: 'a request parameter has an invalid value' },
  SLUICE_ERR_FEATURES_INVALID: { status: 400, meaning: 'a /v1 predict body fails the model feature schema (details name each field)' },
  SLUICE_ERR_FEATURES_NOT_DECLARED: { status: 404, meaning: 'the model declares no named features: no schema, no /v1 predict' },
  // Models
  SLUICE_ERR_MODEL_NOT_FOUND: { status: 404, meaning: 'unknown model' },
  SLUICE_ERR_MODEL_VERSION_NOT_FOUND: { status: 404, meaning: 'unknown model version' },
  SLUICE_ERR_MODEL_NOT_READY: { status: 503, meaning: 'model or version is not READY' },
  SLUICE_ERR_MODEL_CONFIG_INVALID: { status: 500, meaning: 'model.json fails its schema (load time)' },
  SLUICE_ERR_MODEL_LOAD_FAILED: { status: 500, meaning: 'a version could not be loaded (load time)' },
  SLUICE_ERR_MODEL_WARMUP_FAILED: { status: 500, meaning: 'no warmup input ran on the version (load time): declare `warmup` in model.json' },
  SLUICE_ERR_ROUTING_INVALID: { status: 400, meaning: 'a routing table (routing.json or an admin PUT body) is malformed: unknown key, version not a positive integer string, share outside 0..100, a version twice' },
  // Scheduling and execution
  SLUICE_ERR_QUEUE_FULL: { status: 503, meaning: 'the version queue is at maxQueueSize' },
  SLUICE_ERR_ADMISSION_REFUSED: { status: 429, meaning: 'predicted queue wait exceeds the request deadline' },
  SLUICE_ERR_REQUEST_CANCELLED: { status: 499, meaning: 'the client went away before the request ran' },
  // WebSocket
  SLUICE_ERR_WS_MESSAGE_INVALID: { status: 400, meaning: 'WebSocket frame lacks a valid id, model_name or model_version' },
  SLUICE_ERR_WS_TOO_MANY_INFLIGHT: { status: 429, meaning: 'more requests in flight on the connection than its cap' },
  SLUICE_ERR_DEADLINE_EXCEEDED: { status: 504, meaning: 'deadline passed before the answer' },
  SLUICE_ERR_WORKER_DIED: { status: 503, meaning: 'the worker running the batch died; retry' },
  SLUICE_ERR_INFERENCE_FAILED: { status: 500, meaning: 'the runtime failed the batch' },
  SLUICE_ERR_INPUT_REJECTED: { status: 400, meaning: 'the model refused an input that matches its declared tensors (the runtime says why, e.g. a side that is not a multiple of 32)' },
  SLUICE_ERR_SHUTTING_DOWN: { status: 503, meaning: 'the server is draining' },
  // Admin API (docs/admin.md)
  SLUICE_ERR_ADMIN_UNAUTHORIZED: { status: 401, meaning: 'admin call without `Authorization: Bearer <token>` matching SLUICE_ADMIN_TOKEN' },
  SLUICE_ERR_ADMIN_REQUEST_INVALID: { status: 400, meaning: 'admin path parameter or body malformed: version not a positive integer, unknown key, not a JSON object' },
  SLUICE_ERR_ADMIN_REFUSED: { status: 409, meaning: 'the admin change conflicts with what serves: unloading the primary or a shadow, promoting a version that is not READY, rollback without a READY previous primary' },
  SLUICE_ERR_RETRAIN_NOT_CONFIGURED: { status: 409, meaning: 'retrain asked of a model whose model.json has no `retrain` section' },
  SLUICE_ERR_RETRAIN_COOLDOWN: { status: 409, meaning: 'retrain asked within the model cooldown after its last retrain event (Retry-After says when)' },
  // Process
  SLUICE_ERR_CONFIG_INVALID: { status: 500, meaning: 'invalid command line or SLUICE_* setting' },
  SLUICE_ERR_HTTP_NATIVE_MISSING: { status: 500, meaning: 'uWebSockets.js native binary did not load' },
  SLUICE_ERR_REPOSITORY_NOT_FOUND: { status: 500, meaning: 'the --models directory does not exist or is not a directory (start time)' },
  SLUICE_ERR_SERVER_INTERNAL: { status: 500, meaning: 'unexpected internal error' },
  // GPU pack (`sluice gpu install`, docs/gpu.md)
  SLUICE_ERR_GPU_PACK_FETCH: { status: 500, meaning: '`npm pack` could not fetch the GPU pack from the registry (offline: `sluice gpu install --from <tarball>`)' },
  SLUICE_ERR_GPU_PACK_INTEGRITY: { status: 500, meaning: 'the GPU pack tarball differs from the sha512 integrity pinned in package.json gpuPack' },
  SLUICE_ERR_GPU_PACK_RUNTIME: { status: 500, meaning: 'the onnxruntime-node there is missing or not the version the CUDA provider was built for (package.json gpuPack.onnxruntime)' },
  SLUICE_ERR_GPU_PACK_CONTENT: { status: 500, meaning: 'the GPU pack tarball lacks a provider file listed in package.json gpuPack.files' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Caps the details list so an adversarial request cannot make a huge error body. */
export const MAX_ERROR_DETAILS = 20;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: string[] | undefined;
  /** Seconds a client should wait before retrying (Retry-After), when the refusal is temporary. */
  readonly retryAfterS: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: string[]; cause?: unknown; retryAfterS?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = opts.details?.slice(0, MAX_ERROR_DETAILS);
    this.retryAfterS = opts.retryAfterS;
  }

  /** The wire shape: {"error": message, "code": ..., "details"?: [...]}. Never a stack. */
  toWire(): { error: string; code: ErrorCode; details?: string[] } {
    return this.details && this.details.length > 0
      ? { error: this.message, code: this.code, details: this.details }
      : { error: this.message, code: this.code };
  }
}

/**
 * A SluiceError built without capturing a stack trace, for expected refusals that are the common
 * answer under overload (429/503 at admission): capturing the stack is most of the cost of
 * building an error (~5 µs of ~6 µs measured on this VM) and nobody reads it. `stack` is then
 * just the "SluiceError: message" line.
 */
export function refusalError(code: ErrorCode, message: string, opts: { retryAfterS?: number } = {}): SluiceError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new SluiceError(code, message, opts);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Maps anything thrown to a SluiceError, keeping the original as `cause`. */
export function toSluiceError(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  return new SluiceError('SLUICE_ERR_SERVER_INTERNAL', 'internal error', { cause: err });
}
