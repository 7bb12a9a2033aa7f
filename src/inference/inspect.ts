// Opens a model.onnx once in a short-lived child process (inspect-child.ts) and returns
// its graph signature. Two reasons for the process boundary:
//   - ORT's log has no callback in onnxruntime-node; it goes to fd 2 as coloured text.
//     Sessions inside the server run silent (logSeverityLevel 4) and each version is
//     opened here first at the configured severity, its log parsed line by line.
//   - ORT may crash on a corrupt or hostile model; here that kills only the child.
// Cost: one Node start, one ORT binding load and one session create per call, once per
// model version: 0.3-0.6 s for the digits model on 2 busy cores, nearly all of it the
// process start and binding load, so it does not grow much with the model.

import { fork, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../errors.js';
import { type OrtLogLine, type OrtSeverityLevel, parseOrtLogLine } from './ort-text.js';

/** One graph input or output as ORT reports it. */
export interface GraphTensor {
  name: string;
  /** ORT element type ('float32', 'int64', 'bool', 'float16', 'string', ...) or 'non-tensor'. */
  type: string;
  /**
   * -1 for every free dim (symbolic, unnamed or negative). [] for a scalar, and also for a
   * tensor whose rank the graph leaves unknown: ORT reports both alike. [] for a non-tensor.
   */
  dims: number[];
  /** Per dim: the graph's symbolic name of a free dim ("batch"), else null. */
  dimNames: (string | null)[];
}

export interface GraphSignature {
  inputs: GraphTensor[];
  outputs: GraphTensor[];
}

/** Parent → child, sent once right after fork. */
export interface InspectRequest {
  modelPath: string;
  logSeverityLevel: OrtSeverityLevel;
}

/** Child → parent, sent once; the child exits after it. */
export type InspectReply =
  | { ok: true; inputs: GraphTensor[]; outputs: GraphTensor[] }
  | { ok: false; message: string };

export interface InspectOptions {
  /** ORT severity the child logs at: 0 verbose … 4 fatal (silent but for crashes). */
  logSeverityLevel: OrtSeverityLevel;
  /** Whole child lifetime, Node start and ORT load included; past it the child is SIGKILLed. */
  timeoutMs: number;
  /**
   * Called once per non-empty line the child writes on stdout or stderr, in order per
   * stream, always before inspectModel settles. Should not throw: if it does, the child
   * is killed and inspectModel rejects with the thrown value as cause.
   */
  onLog(line: OrtLogLine): void;
  /** Aborting kills the child (SIGKILL) and rejects. */
  signal?: AbortSignal;
}

/** Longest log line passed on; the rest of a longer line is dropped (a hostile model's node names). */
export const MAX_LOG_LINE_CHARS = 8192;
/** Most log lines passed on per call; verbose level prints ~150 for a 2-node graph. */
export const MAX_LOG_LINES = 10_000;

const CHILD_PATH = fileURLToPath(new URL('./inspect-child.js', import.meta.url));

// Children alive now, killed if this process exits while one runs (an 'exit' listener may
// only do synchronous work; kill() is). Registered once, on the first call.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
}

/**
 * The graph signature of the model at `modelPath`, read in a child process at
 * `opts.logSeverityLevel`. Settles only after the child exited and both of its output
 * streams ended, so every log line has reached `opts.onLog` by then; no child outlives it.
 * Rejects with SLUICE_ERR_MODEL_LOAD_FAILED when ORT refuses the model (its cleaned
 * message), when the child dies without a clean exit (crash: exit code or signal), on
 * timeout, or on abort.
 */
export function inspectModel(modelPath: string, opts: InspectOptions): Promise<GraphSignature> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(loadFailed('model inspection was cancelled', opts.signal.reason));
      return;
    }
    const child = fork(CHILD_PATH, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Not the parent's flags (vitest's loaders, --inspect): the child runs plain JS.
      execArgv: [],
      serialization: 'json',
    });
    track(child);

    let reply: InspectReply | undefined;
    let failure: SluiceError | undefined;
    let settled = false;
    const kill = (why: SluiceError): void => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const log = lineBudget((line) => {
      try {
        opts.onLog(line);
      } catch (err) {
        kill(loadFailed('the log callback of the model inspection threw', err));
      }
    });
    const flushOut = splitLines(child.stdout!, log);
    const flushErr = splitLines(child.stderr!, log);

    const timer = setTimeout(
      () => kill(loadFailed(`ONNX Runtime took longer than ${opts.timeoutMs} ms to open the model; the inspection process was killed`)),
      opts.timeoutMs,
    );
    const onAbort = (): void => kill(loadFailed('model inspection was cancelled', opts.signal?.reason));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const settle = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      live.delete(child);
      flushOut();
      flushErr();
      if (failure !== undefined) return reject(failure);
      if (spawnError !== undefined) return reject(loadFailed('could not start the model inspection process', spawnError));
      const clean = code === 0 && signal === null;
      if (reply?.ok === false) return reject(loadFailed(`ONNX Runtime could not open the model: ${reply.message}`));
      if (reply?.ok === true && clean) return resolve({ inputs: reply.inputs, outputs: reply.outputs });
      const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      const when = reply === undefined ? 'while opening' : 'after opening';
      reject(loadFailed(`ONNX Runtime crashed ${when} the model (${how})`));
    };

    child.on('message', (msg: unknown) => {
      if (reply === undefined && isReply(msg)) reply = msg;
    });
    // 'close' comes after 'exit', once stdout, stderr and the IPC channel have all closed.
    child.once('close', (code, signal) => settle(code, signal));
    child.on('error', (err) => {
      // Spawn failure: no process, so no 'close' to wait for. Later errors (a failed
      // kill or send) leave 'close' to settle.
      if (child.pid === undefined) settle(null, null, err);
    });
    if (child.pid !== undefined) {
      // A send error means the child is already going; make sure, and let 'close' settle.
      child.send({ modelPath, logSeverityLevel: opts.logSeverityLevel } satisfies InspectRequest, (err) => {
        if (err) child.kill('SIGKILL');
      });
    }
  });
}

function loadFailed(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_LOAD_FAILED', message, cause === undefined ? {} : { cause });
}

function isReply(msg: unknown): msg is InspectReply {
  if (typeof msg !== 'object' || msg === null) return false;
  const r = msg as Record<string, unknown>;
  return r.ok === true ? Array.isArray(r.inputs) && Array.isArray(r.outputs) : r.ok === false && typeof r.message === 'string';
}

/** Parses and forwards lines, at most MAX_LOG_LINES, then one line saying how many were dropped. */
function lineBudget(onLog: (line: OrtLogLine) => void): (raw: string) => void {
  let passed = 0;
  return (raw) => {
    const line = parseOrtLogLine(raw);
    if (line === undefined) return;
    passed++;
    if (passed <= MAX_LOG_LINES) onLog(line);
    else if (passed === MAX_LOG_LINES + 1) {
      onLog({ severity: 'warning', message: `more than ${MAX_LOG_LINES} ONNX Runtime log lines; the rest were dropped` });
    }
  };
}

/**
 * Feeds `stream` to `onLine` line by line (UTF-8, "\n"-separated, each line cut at
 * MAX_LOG_LINE_CHARS). Returns a flush that delivers a last unterminated line; it is called
 * on 'end' and again at settle, and delivers nothing twice.
 */
function splitLines(stream: Readable, onLine: (line: string) => void): () => void {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let overflowing = false; // inside a line already cut: skip to its newline
  let ended = false;
  const take = (text: string): void => {
    if (ended) return;
    let from = 0;
    for (let nl = text.indexOf('\n', from); nl >= 0; nl = text.indexOf('\n', from)) {
      if (!overflowing) onLine((partial + text.slice(from, nl)).slice(0, MAX_LOG_LINE_CHARS));
      partial = '';
      overflowing = false;
      from = nl + 1;
    }
    if (overflowing) return;
    partial += text.slice(from);
    if (partial.length > MAX_LOG_LINE_CHARS) {
      onLine(partial.slice(0, MAX_LOG_LINE_CHARS));
      partial = '';
      overflowing = true;
    }
  };
  const flush = (): void => {
    if (ended) return;
    take(decoder.end());
    ended = true;
    if (partial !== '' && !overflowing) onLine(partial);
    partial = '';
  };
  stream.on('data', (chunk: Buffer) => take(decoder.write(chunk)));
  stream.once('end', flush);
  return flush;
}
