// Server processes under test: start one on a free loopback port, wait until it answers its
// readiness URL, read its CPU time and resident memory, stop it. Every server is its own process so that its
// CPU time per request can be read from /proc and a crash cannot take the runner down.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { cpuSeconds } from './cpu.js';
import { ROOT } from './paths.js';

export interface ServerHandle {
  /** Short label used in tables ("sluice", "naive-fastify", ...). */
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** User + system CPU seconds the process has used so far. */
  cpuSeconds(): number;
  /** Resident memory now, MiB (VmRSS, every thread); NaN when unreadable. */
  rssMiB(): number;
  /** Sends `signal` and resolves with the next stdout line that contains `marker`. */
  query(signal: NodeJS.Signals, marker: string, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Script and arguments for `node`; `{port}` in any argument is replaced by the chosen port. */
  args: string[];
  env?: Record<string, string>;
  /** GET path that answers 200 once the server can take load. */
  readyPath: string;
  timeoutMs?: number;
}

/** A port the kernel just handed out on 127.0.0.1 (closed again; a race is unlikely on loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident memory of a process, MiB (VmRSS of /proc/<pid>/status); NaN when unreadable. */
function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Servers still running when the runner exits (a crash, a timeout, Ctrl-C) are killed with it.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

export async function startServer(opts: StartOptions): Promise<ServerHandle> {
  const port = await freePort();
  const args = opts.args.map((a) => a.replaceAll('{port}', String(port)));
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const output: string[] = [];
  const lineWaiters: ((line: string) => void)[] = [];
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      output.push(line);
      for (const w of [...lineWaiters]) w(line);
    }
  });
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    }),
  );
  const origin = `http://127.0.0.1:${port}`;
  const until = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${opts.name} exited during start:\n${output.join('\n').slice(-2000)}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} not ready at ${origin}${opts.readyPath} in time:\n${output.join('\n').slice(-2000)}`);
    }
    const status = await fetch(origin + opts.readyPath).then((r) => r.status, () => 0);
    if (status === 200) break;
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    name: opts.name,
    pid,
    port,
    origin,
    cpuSeconds: () => cpuSeconds(pid),
    rssMiB: () => rssMiB(pid),
    query(signal, marker, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const waiter = (line: string): void => {
          if (line.includes(marker)) done(line);
        };
        const done = (line: string | undefined): void => {
          clearTimeout(timer);
          lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
          if (line === undefined) reject(new Error(`${opts.name}: no "${marker}" line within ${timeoutMs} ms`));
          else resolve(line);
        };
        lineWaiters.push(waiter);
        child.kill(signal);
      });
    },
    async stop(graceMs = 5000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}
