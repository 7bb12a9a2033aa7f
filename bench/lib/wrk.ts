// wrk as a load generator: POST bodies come from a Lua script written to a temp file, the
// figures from its `--latency` report. One wrk thread: on 2 cores the server under test
// keeps the other core (a second wrk thread would compete with it).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadOptions, LoadRun } from './load-run.js';

/** A Lua script that rotates through `bodies` as POST application/json requests. */
export function wrkScript(bodies: readonly string[]): string {
  // Long brackets of level 3 cannot clash with JSON text (it never contains "]===]").
  const list = bodies.map((b) => `[===[${b}]===]`).join(',\n');
  return [
    'wrk.method = "POST"',
    'wrk.headers["Content-Type"] = "application/json"',
    `local bodies = {\n${list}\n}`,
    'local n = #bodies',
    'local i = 0',
    'request = function()',
    '  i = i % n + 1',
    '  return wrk.format(nil, nil, nil, bodies[i])',
    'end',
    '',
  ].join('\n');
}

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

function toUs(text: string): number {
  const m = /^([0-9.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`wrk: cannot read the duration "${text}"`);
  return Number(m[1]) * UNIT_US[m[2]!]!;
}

export interface WrkReport {
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  non2xx: number;
  socketErrors: number;
}

/** Reads wrk 4's `--latency` output. Throws when a figure the bench needs is missing. */
export function parseWrk(out: string): WrkReport {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk output has no ${what}:\n${out}`);
    return m;
  };
  const total = need(/(\d+) requests in ([0-9.]+)(us|ms|s|m)/, 'request count');
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(total[1]),
    seconds: toUs(`${total[2]}${total[3]}`) / 1e6,
    reqPerSec: Number(need(/Requests\/sec:\s+([0-9.]+)/, 'Requests/sec')[1]),
    p50Us: toUs(need(/^\s+50%\s+(\S+)/m, 'p50 (was --latency given?)')[1]!),
    p99Us: toUs(need(/^\s+99%\s+(\S+)/m, 'p99')[1]!),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
  };
}

export async function runWrk(opts: LoadOptions): Promise<LoadRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-wrk-'));
  const script = path.join(dir, 'bodies.lua');
  writeFileSync(script, wrkScript(opts.bodies));
  const args = [
    '-t1', `-c${opts.connections}`, `-d${opts.durationS}s`, '--timeout', '10s', '--latency', '-s', script, opts.url,
  ];
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('wrk', args, { timeout: (opts.durationS + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`wrk ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const r = parseWrk(out);
    return {
      generator: 'wrk',
      connections: opts.connections,
      durationS: r.seconds,
      requests: r.requests,
      reqPerSec: r.reqPerSec,
      p50Us: r.p50Us,
      p99Us: r.p99Us,
      errors: r.non2xx + r.socketErrors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
