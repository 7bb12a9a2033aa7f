// Piscina worker entry. Imports only the session wrapper and message types: no logger, no
// metrics, no config (DESIGN §2). Holds one session per loaded version key, created once.
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { move, workerData } from 'piscina';
import { createSession, ModelRunError, runSession, type LoadedSession } from './session.js';
import type { FailReply, LoadTask, RunTask, UnloadTask, WorkerData, WorkerReply, WorkerTask } from './messages.js';

// A low-priority pool's worker lowers its own thread: /proc/thread-self names the thread's id,
// which setpriority(2) and sched_setscheduler(2) take on Linux. SCHED_IDLE (set by util-linux's
// chrt: Node has no binding, and lowering one's own class needs no privilege) is what makes the
// kernel run the thread only on a core nothing else wants and preempt it at once when a normal
// thread wakes; nice 19 alone still gets a share of a contended core. Elsewhere, or without
// chrt, the thread keeps what it could get (nice 19, or the process's priority).
const { niceness = 0, idleClass = false } = (workerData as WorkerData | undefined) ?? {};
if (niceness > 0 || idleClass) {
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop() ?? '';
    if (niceness > 0) setPriority(Number(tid), niceness);
    if (idleClass) execFileSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // not Linux, no chrt, or not allowed: the pool still works, with what was set
  }
}

const sessions = new Map<string, Promise<LoadedSession>>();

function sessionFor(spec: RunTask['spec']): Promise<LoadedSession> {
  let s = sessions.get(spec.key);
  if (!s) {
    s = createSession(spec);
    sessions.set(spec.key, s);
    // A failed create must not poison the key for a later retry.
    s.catch(() => sessions.delete(spec.key));
  }
  return s;
}

/** Waits until `parties` tasks have arrived; false on timeout. Blocks this worker only. */
function awaitBarrier(buffer: SharedArrayBuffer, parties: number, timeoutMs: number): boolean {
  const counter = new Int32Array(buffer);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(counter, 0);
    if (seen >= parties) return true;
    const left = until - Date.now();
    if (left <= 0) return false;
    Atomics.wait(counter, 0, seen, left);
  }
}

function fail(err: unknown): FailReply {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof ModelRunError && !err.resource ? { ok: false, message, rejected: true } : { ok: false, message };
}

/** Index of the first candidate the session runs; throws the last failure when none does. */
async function warmUp(loaded: LoadedSession, candidates: LoadTask['warmup']): Promise<number> {
  let last: unknown;
  for (let i = 0; i < candidates.length; i++) {
    try {
      await runSession(loaded.session, candidates[i]!, loaded.session.outputNames.slice());
      return i;
    } catch (err) {
      last = err;
    }
  }
  if (candidates.length === 0) return -1;
  throw last;
}

async function load(task: LoadTask): Promise<WorkerReply> {
  let loaded: LoadedSession;
  let warmupIndex: number;
  try {
    loaded = await sessionFor(task.spec);
  } catch (err) {
    // Still take part in the barrier so the other parties are not held until the timeout.
    awaitBarrier(task.barrier, task.parties, 0);
    return fail(err);
  }
  try {
    warmupIndex = await warmUp(loaded, task.warmup);
  } catch (err) {
    awaitBarrier(task.barrier, task.parties, 0);
    return { ...fail(err), warmupFailed: true };
  }
  const allWorkers = awaitBarrier(task.barrier, task.parties, task.barrierTimeoutMs);
  return loaded.fallbackReason === undefined
    ? { ok: true, provider: loaded.provider, allWorkers, warmupIndex }
    : { ok: true, provider: loaded.provider, fallbackReason: loaded.fallbackReason, allWorkers, warmupIndex };
}

async function unload(task: UnloadTask): Promise<WorkerReply> {
  const s = sessions.get(task.key);
  sessions.delete(task.key);
  if (s) {
    try {
      await (await s).session.release();
    } catch {
      // A session whose create failed has nothing to release.
    }
  }
  awaitBarrier(task.barrier, task.parties, task.barrierTimeoutMs);
  return { ok: true };
}

async function run(task: RunTask): Promise<unknown> {
  if (task.notAfterEpochMs !== undefined && performance.timeOrigin + performance.now() > task.notAfterEpochMs) {
    return { ok: false, expired: true, message: 'deadline passed while queued at the worker' } satisfies FailReply;
  }
  try {
    const { session } = await sessionFor(task.spec);
    const outputs = await runSession(session, task.inputs, task.outputNames);
    const reply: WorkerReply = { ok: true, outputs };
    // Transfer the output buffers back instead of cloning them.
    return move({
      [Symbol.for('Piscina.transferable')]: outputs.map((o) => o.data.buffer),
      [Symbol.for('Piscina.valueOf')]: reply,
    } as never);
  } catch (err) {
    return fail(err);
  }
}

/** Runs take the default export, load and unload this one: the pool's balancer tells them apart by name. */
export { handle as control };

export default function handle(task: WorkerTask): Promise<unknown> {
  switch (task.kind) {
    case 'run':
      return run(task);
    case 'load':
      return load(task);
    case 'unload':
      return unload(task);
  }
}
