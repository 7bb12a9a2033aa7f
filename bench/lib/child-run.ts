// Load generators that run as their own child process, so their CPU is not the runner's and can
// be reported beside the server's. The generator file is both the module and the child's entry:
// the parent calls `runChild(SELF, opts)`, the file ends with `childEntry(SELF, main)`. Contract:
// options travel as argv[2] (JSON); the child prints its result as the last stdout line (JSON)
// and exits 0, or prints the error to stderr and exits 1.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Runs `self` as a child with `opts`; rejects on a non-zero exit or after `timeoutMs` (SIGKILL). */
export function runChild<R>(self: string, opts: unknown, timeoutMs: number): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`${path.basename(self)} exited ${code}:\n${err.slice(-2000)}${out.slice(-500)}`));
      } else resolve(JSON.parse(last) as R);
    });
  });
}

/** When this process was started as `self`, runs `main` on argv[2] and exits with its result. */
export function childEntry<O, R>(self: string, main: (opts: O) => Promise<R>): void {
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== self) return;
  main(JSON.parse(process.argv[2]!) as O).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
