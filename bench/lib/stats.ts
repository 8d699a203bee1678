/**
 * Small statistics and machine helpers shared by the webhook benchmark's processes.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

/** The value at quantile `q` (0…1) of `values` (nearest rank); 0 for an empty list. Does not mutate. */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))] as number;
}

/** p50, p90, p99 and max of `values`, in the same unit, rounded to 3 decimals. */
export function summary(values: ArrayLike<number>): { p50: number; p90: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0
      ? 0
      : (sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)] as number);
  return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(at(1)) };
}

/** The median of `values` (the upper one of an even count, as the other benches do); 0 when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The machine block every results file carries (same shape as scan.json, rbac.json, policy.json). */
export function machine(): {
  node: string;
  cpus: number;
  cpuModel: string | undefined;
  memoryGb: number;
  platform: string;
} {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    platform: process.platform,
  };
}

/** CPU time (user + system, ms) of process `pid` from /proc; Linux only. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

/** `pid` and its descendants (a webhook with --workers), from /proc/<pid>/task/<tid>/children; Linux only. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`/proc/${p}/task/${tid}/children`, "utf8").trim();
        if (children !== "") out.push(...children.split(" ").map(Number));
      } catch {
        // The task ended meanwhile.
      }
    }
  }
  return out;
}

/** CPU time (user + system) of `pid` and its live descendants, in ms. */
export function processTreeCpuMs(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + processCpuMs(p);
    } catch {
      return sum;
    }
  }, 0);
}

/** {@link processMemoryMb} summed over `pid` and its live descendants (peaks summed: an upper bound). */
export function processTreeMemoryMb(pid: number): { rssMb: number; peakRssMb: number } {
  let rss = 0;
  let peak = 0;
  for (const p of processTree(pid)) {
    try {
      const m = processMemoryMb(p);
      rss += m.rssMb;
      peak += m.peakRssMb;
    } catch {
      // Gone meanwhile.
    }
  }
  return { rssMb: round(rss, 1), peakRssMb: round(peak, 1) };
}

/** Resident memory of process `pid` in MB: now (VmRSS) and the peak so far (VmHWM); Linux only. */
export function processMemoryMb(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssMb: round(kb("VmRSS") / 1024, 1), peakRssMb: round(kb("VmHWM") / 1024, 1) };
}

// USER_HZ: 100 on every Linux architecture Node runs on (the kernel exports it as such).
const CLOCK_TICKS = 100;
