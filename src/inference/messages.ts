// Every message shape that crosses the main-thread ↔ worker boundary lives here (STYLE:
// piscina's one-messages-file habit). Plain data only: these are structured-cloned, and the
// typed arrays inside WireTensor are transferred, never cloned, on the hot path.
import type { DataType, Device, TensorData } from '../types.js';

/** What every worker of a pool is started with (piscina's workerData). */
export interface WorkerData {
  /** Nice value the worker thread sets on itself (0: none). */
  niceness: number;
  /** The worker thread moves itself to the SCHED_IDLE class (Linux). */
  idleClass: boolean;
}

/** Everything a worker needs to (re)create a session on its own, e.g. after a restart. */
export interface SessionSpec {
  /** Unique per loaded version: "<model>@<version>#<sha256 prefix>". */
  key: string;
  modelPath: string;
  device: Device;
  intraOpThreads: number;
  allowSpinning: boolean;
}

export interface WireTensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

/**
 * Creates the session in the receiving worker (once per key), runs the first warmup candidate
 * the model accepts (trying them in order), then waits on a barrier until `parties` load tasks
 * are inside workers at the same time. Since each worker runs one task at a time, `parties`
 * simultaneous tasks prove every worker holds the session.
 */
export interface LoadTask {
  kind: 'load';
  spec: SessionSpec;
  /** Candidate warmup inputs, in order; none: no warmup. */
  warmup: WireTensor[][];
  /** Int32Array(1) counter shared by the `parties` tasks of one load round. */
  barrier: SharedArrayBuffer;
  parties: number;
  barrierTimeoutMs: number;
}

/** Releases the session for `key` in every worker (same barrier scheme as LoadTask). */
export interface UnloadTask {
  kind: 'unload';
  key: string;
  barrier: SharedArrayBuffer;
  parties: number;
  barrierTimeoutMs: number;
}

/** Runs one batch. The session is created lazily from `spec` when this worker lacks it. */
export interface RunTask {
  kind: 'run';
  spec: SessionSpec;
  inputs: WireTensor[];
  outputNames: string[];
  /** Skip the batch when the worker reaches it after this (performance.timeOrigin + now(), ms). */
  notAfterEpochMs?: number;
}

export type WorkerTask = LoadTask | UnloadTask | RunTask;

export interface LoadReply {
  ok: true;
  /** Execution provider the session actually uses ("cpu" after a CUDA fallback). */
  provider: string;
  /** Why the requested provider could not be used, when it fell back. */
  fallbackReason?: string;
  /** False when not every worker reached the barrier in time. */
  allWorkers: boolean;
  /** Index of the warmup candidate that ran (-1: none was given). */
  warmupIndex: number;
}

export interface RunReply {
  ok: true;
  outputs: WireTensor[];
}

export interface UnloadReply {
  ok: true;
}

/** Errors are returned, not thrown, so that a rejected task always means "the worker died". */
export interface FailReply {
  ok: false;
  message: string;
  /** The batch was skipped: its notAfterEpochMs had passed when the worker reached it. */
  expired?: boolean;
  /** The runtime refused the batch's inputs (message cleaned of internal paths). */
  rejected?: boolean;
  /** No warmup candidate ran; `message` is the last candidate's failure. */
  warmupFailed?: boolean;
}

export type WorkerReply = LoadReply | RunReply | UnloadReply | FailReply;
