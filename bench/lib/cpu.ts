// CPU time of another process from /proc/<pid>/stat: utime + stime, every thread included
// (sluice's worker threads are threads of its process). Linux only; NaN elsewhere.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Parses utime + stime (fields 14 and 15) of a /proc/<pid>/stat line, in clock ticks. */
export function parseProcStatTicks(stat: string): number {
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 14 is rest[11] and field 15 is rest[12].
  return Number(rest[11]) + Number(rest[12]);
}

/** utime + stime + cutime + cstime (fields 14-17): a process plus its reaped children (wrk). */
export function parseProcStatTicksWithChildren(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
}

/** CPU seconds of this process and its finished children (the load generator). */
export function selfAndChildrenSeconds(): number {
  try {
    return parseProcStatTicksWithChildren(readFileSync('/proc/self/stat', 'utf8')) / clockTicks();
  } catch {
    return NaN;
  }
}

/** Machine-wide CPU seconds, busy and total (all cores), from /proc/stat. */
export function systemSeconds(): { busy: number; total: number } {
  try {
    // "cpu  user nice system idle iowait irq softirq steal ..."
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: (total - (f[3] ?? 0) - (f[4] ?? 0)) / clockTicks(), total: total / clockTicks() };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** User + system CPU seconds the process has used so far; NaN if it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    return parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks();
  } catch {
    return NaN;
  }
}
