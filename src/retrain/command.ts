// The retrain command action (docs/drift.md): run the model's configured argv with the retrain
// event on stdin (JSON, then EOF) and in the environment (SLUICE_RETRAIN_EVENT, and
// SLUICE_RETRAIN_MODEL when the event names a model). The argv comes from model.json only.
//
// Contract:
// - Never a shell: argv[0] is executed directly with argv[1..] as literal arguments. "node" as
//   argv[0] means this process's node binary (process.execPath), so configs are portable.
// - Output is logged line by line (stdout at info, stderr at warn) with bounded memory: each line
//   cut at MAX_LINE_CHARS, at most MAX_LOG_LINES lines per run (then one "output truncated"
//   line); only the partial last line of each stream is held, itself bounded.
// - Timeout: SIGTERM at timeoutMs, SIGKILL KILL_GRACE_MS later if it is still alive.
// - ok = exit code 0 and not timed out. Never throws: a spawn failure (ENOENT, EACCES) is an
//   outcome with `error`.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ActionLog } from './webhook.js';

export type { ActionLog };

export interface CommandConfig {
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  /** Working directory (default: the gateway's). */
  readonly cwd?: string;
}

export interface CommandOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  /** The signal that ended the child (e.g. SIGTERM, SIGKILL after a timeout). */
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly error?: string;
}

export interface CommandDeps {
  readonly log: ActionLog;
  /** The child's base environment (the process's: SluiceConfig.childEnv); the SLUICE_RETRAIN_* variables are added. */
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

export const MAX_LINE_CHARS = 2000;
export const MAX_LOG_LINES = 1000;
export const KILL_GRACE_MS = 2000;
/**
 * Linux refuses one environment string over 128 KiB (E2BIG, the spawn fails): an event JSON
 * longer than this is left out of the environment (stdin still has it).
 */
export const MAX_ENV_EVENT_CHARS = 64 * 1024;
/**
 * After the child exits, how long to wait for its stdout/stderr to close: a grandchild that
 * inherited them can hold them open for ever, and the outcome must not wait on it.
 */
const STDIO_CLOSE_GRACE_MS = 1000;

export async function runCommand(config: CommandConfig, event: object, deps: CommandDeps): Promise<CommandOutcome> {
  const startMs = Date.now();
  const log = deps.log;
  const argv0 = config.argv[0];
  if (argv0 === undefined) return finish(log, undefined, { ok: false, exitCode: null, signal: null, timedOut: false, durationMs: 0, error: 'empty argv' });

  const body = JSON.stringify(event);
  const env: NodeJS.ProcessEnv = { ...deps.env };
  delete env.SLUICE_RETRAIN_EVENT;
  delete env.SLUICE_RETRAIN_MODEL;
  if (body.length <= MAX_ENV_EVENT_CHARS) env.SLUICE_RETRAIN_EVENT = body;
  else log.warn({ argv0, chars: body.length }, 'retrain event too long for SLUICE_RETRAIN_EVENT; it is on stdin only');
  const model = (event as { model?: unknown }).model;
  if (typeof model === 'string') env.SLUICE_RETRAIN_MODEL = model;

  let child: ChildProcess;
  try {
    child = spawn(argv0 === 'node' ? process.execPath : argv0, config.argv.slice(1), {
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
    });
  } catch (err) {
    // Synchronous refusals: e.g. an argument with a NUL byte.
    return finish(log, argv0, { ok: false, exitCode: null, signal: null, timedOut: false, durationMs: Date.now() - startMs, error: (err as Error).message });
  }

  return new Promise<CommandOutcome>((resolve) => {
    const budget = { lines: MAX_LOG_LINES, truncatedLogged: false };
    const pid = child.pid;
    const emit = (stream: 'stdout' | 'stderr', line: string, cut: boolean): void => {
      if (budget.lines <= 0) {
        if (!budget.truncatedLogged) log.warn({ stream, pid, argv0, maxLines: MAX_LOG_LINES }, 'retrain command output truncated');
        budget.truncatedLogged = true;
        return;
      }
      budget.lines--;
      const fields = { stream, pid, argv0, line, ...(cut ? { cut: true } : {}) };
      if (stream === 'stdout') log.info(fields, 'retrain command output');
      else log.warn(fields, 'retrain command output');
    };
    const splitters = [new LineSplitter((l, c) => emit('stdout', l, c)), new LineSplitter((l, c) => emit('stderr', l, c))] as const;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => splitters[0].push(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => splitters[1].push(chunk));

    // The child may exit (or never read) before the event is written: EPIPE is not a failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(body);

    let timedOut = false;
    let exited: { code: number | null; signal: string | null } | undefined;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    let done = false;
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, config.timeoutMs);

    const settle = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(closeTimer);
      splitters[0].end();
      splitters[1].end();
      const exitCode = exited?.code ?? null;
      const ok = spawnError === undefined && exitCode === 0 && !timedOut;
      const error = spawnError ?? (timedOut ? `timed out after ${config.timeoutMs} ms` : ok ? undefined : exitCode !== null ? `exit code ${exitCode}` : `killed by ${exited?.signal ?? 'a signal'}`);
      resolve(finish(log, argv0, { ok, exitCode, signal: exited?.signal ?? null, timedOut, durationMs: Date.now() - startMs, ...(error === undefined ? {} : { error }), pid }));
    };

    child.on('error', (err) => {
      // 'error' without a pid: the spawn failed (ENOENT, EACCES); no 'exit' follows it.
      if (child.pid === undefined) {
        spawnError = err.message;
        settle();
      }
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      clearTimeout(killTimer);
      clearTimeout(timeoutTimer);
      closeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle();
      }, STDIO_CLOSE_GRACE_MS);
    });
    // 'close' comes once the child has exited and its output has been read to the end.
    child.on('close', (code, signal) => {
      exited ??= { code, signal };
      settle();
    });
  });
}

function finish(log: ActionLog, argv0: string | undefined, outcome: CommandOutcome & { pid?: number | undefined }): CommandOutcome {
  const { pid, ...result } = outcome;
  const fields = { argv0, pid, ...result };
  if (result.ok) log.info(fields, 'retrain command finished');
  else log.error(fields, 'retrain command failed');
  return result;
}

/**
 * Splits a text stream into lines ('\n', a trailing '\r' dropped) without holding more than one
 * partial line of at most MAX_LINE_CHARS: the rest of an over-long line is dropped as it arrives.
 */
class LineSplitter {
  private partial = '';
  private cut = false;
  private pending = false;

  constructor(private readonly onLine: (line: string, cut: boolean) => void) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      this.append(nl === -1 ? chunk.slice(start) : chunk.slice(start, nl));
      if (nl === -1) return;
      this.flush();
      start = nl + 1;
    }
  }

  /** Emits a last line that had no newline. */
  end(): void {
    if (this.pending) this.flush();
  }

  private append(text: string): void {
    if (text.length === 0) return;
    this.pending = true;
    const room = MAX_LINE_CHARS + 1 - this.partial.length; // +1: room for a '\r' before '\n'
    if (text.length > room) this.cut = true;
    if (room > 0) this.partial += text.slice(0, room);
  }

  private flush(): void {
    let line = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    let cut = this.cut;
    if (line.length > MAX_LINE_CHARS) {
      line = line.slice(0, MAX_LINE_CHARS);
      cut = true;
    }
    this.onLine(line, cut);
    this.partial = '';
    this.cut = false;
    this.pending = false;
  }
}
