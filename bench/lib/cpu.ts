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

/**
 * CPU seconds of this process's finished (reaped) children only: across a run of wrk, the delta
 * is wrk's CPU (execFile reaps it before the run's promise settles). NaN where /proc is missing.
 */
export function reapedChildrenSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return (parseProcStatTicksWithChildren(stat) - parseProcStatTicks(stat)) / clockTicks();
  } catch {
    return NaN;
  }
}

/**
 * Machine-wide CPU seconds from /proc/stat, all cores: `busy` is user + nice + system (what
 * processes are charged with; interrupt and softirq time, which includes our own loopback
 * traffic, is left out), `steal` the time the hypervisor gave to other guests, `total` all.
 */
export function systemSeconds(): { busy: number; steal: number; total: number } {
  try {
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"; guest time is
    // already inside user and nice.
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const at = (i: number): number => f[i] ?? 0;
    const total = at(0) + at(1) + at(2) + at(3) + at(4) + at(5) + at(6) + at(7);
    const hz = clockTicks();
    return { busy: (at(0) + at(1) + at(2)) / hz, steal: at(7) / hz, total: total / hz };
  } catch {
    return { busy: NaN, steal: NaN, total: NaN };
  }
}

/** What other processes (and other guests, as steal) took while `run` ran, as % of all cores. */
export async function disturbance<T>(
  ownSeconds: () => number,
  run: () => Promise<T>,
): Promise<{ result: T; otherCpuPercent: number; stealPercent: number }> {
  const sys0 = systemSeconds();
  const own0 = ownSeconds();
  const result = await run();
  const own1 = ownSeconds();
  const sys1 = systemSeconds();
  const total = sys1.total - sys0.total;
  return {
    result,
    otherCpuPercent: Math.max(0, (100 * (sys1.busy - sys0.busy - (own1 - own0))) / total),
    stealPercent: (100 * (sys1.steal - sys0.steal)) / total,
  };
}

/** User + system CPU seconds the process has used so far; NaN if it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    return parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks();
  } catch {
    return NaN;
  }
}
