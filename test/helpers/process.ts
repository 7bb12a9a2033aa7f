// Runs the real `node dist/src/main.js` process and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './gateway.js';

export interface ServerProcess {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  /** Chunks written to stderr, and stdout lines that are not JSON. */
  stderr: string[];
  /** Every stdout line as written (JSON or not), the last one even without its newline. */
  stdoutLines: string[];
  /** Only what the process wrote to stderr. */
  stderrChunks: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the process exited and its stdout and stderr are read to the end. */
  closed: Promise<void>;
  /** Resolves with the bound port once the process logged "listening". */
  port: Promise<number>;
}

/** `root`: the directory holding dist/ to run (default the checkout), also the process's cwd. */
export function spawnServer(args: string[], env: Record<string, string> = {}, opts: { root?: string; nodeArgs?: string[] } = {}): ServerProcess {
  const root = opts.root ?? ROOT;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), path.join(root, 'dist/src/main.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const stdoutLines: string[] = [];
  const stderrChunks: string[] = [];
  let onPort: (p: number) => void = () => {};
  const port = new Promise<number>((resolve) => (onPort = resolve));
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += String(d);
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      stdoutLines.push(line);
      try {
        const rec = JSON.parse(line);
        logs.push(rec);
        if (rec.msg === 'listening') onPort(rec.port);
      } catch {
        stderr.push(line);
      }
    }
  });
  child.stdout!.on('end', () => {
    if (buf !== '') stdoutLines.push(buf);
  });
  child.stderr!.on('data', (d) => {
    stderr.push(String(d));
    stderrChunks.push(String(d));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { child, logs, stderr, stdoutLines, stderrChunks, exited, closed, port };
}
