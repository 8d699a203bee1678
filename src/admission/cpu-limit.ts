/**
 * The CPU limit of the process's cgroup, for `--workers auto`: a pod with a 1-CPU limit on a
 * 16-core node must not fork 16 workers (they would share one CPU of quota and 16 heaps of
 * memory). `os.availableParallelism()` counts the CPUs the process may be scheduled on; libuv
 * reads a cgroup v2 quota on some versions and ignores cgroup v1 (measured: Node 24 with libuv
 * 1.52 under a v1 quota of one CPU on a 2-CPU machine still answers 2).
 *
 * cgroup v2: `cpu.max` ("max 100000" or "<quota> <period>") of the process's cgroup and every
 * ancestor up to the mount (a parent's limit binds its children). cgroup v1: `cpu.cfs_quota_us`
 * (-1: none) over `cpu.cfs_period_us` of the `cpu` controller's cgroup. Inside a container the
 * cgroup path in /proc/self/cgroup may be the host's while the mount shows the container's own
 * cgroup at its root, so the mount root is read too. The smallest limit found wins.
 */
import { readFileSync } from "node:fs";

/** Reads a file's text, or undefined when it cannot be read. */
export type ReadFile = (path: string) => string | undefined;

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** `quota / period` in CPUs, or undefined for "no limit" or unreadable values. */
function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined) return undefined;
  const q = Number(quota.trim());
  const p = Number(period.trim());
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return undefined;
  return q / p;
}

/** The directories from `path` (relative to `mount`) up to `mount` itself, deepest first. */
function upToMount(mount: string, path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== "." && p !== "..");
  const dirs: string[] = [];
  for (let i = parts.length; i >= 0; i--) dirs.push([mount, ...parts.slice(0, i)].join("/"));
  return dirs;
}

/**
 * The process's cgroup CPU limit in CPUs (fractional, e.g. 1.5), or undefined when there is
 * none or it cannot be read. `read` and `root` exist for tests. Never throws.
 */
export function cgroupCpuLimit(read: ReadFile = readIfPresent, root = "/sys/fs/cgroup"): number | undefined {
  const self = read("/proc/self/cgroup");
  if (self === undefined) return undefined;
  const limits: number[] = [];
  for (const line of self.split("\n")) {
    // hierarchy-id:controllers:path — v2 is "0::path".
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") {
      // cgroup v2: the unified hierarchy at the root (or at root/unified in hybrid mode).
      for (const mount of [root, `${root}/unified`]) {
        for (const dir of upToMount(mount, path)) {
          const max = read(`${dir}/cpu.max`);
          if (max === undefined) continue;
          const [quota, period] = max.trim().split(/\s+/);
          const cpus = quota === "max" ? undefined : ratio(quota, period);
          if (cpus !== undefined) limits.push(cpus);
        }
      }
    } else if (controllers.split(",").includes("cpu")) {
      for (const mount of new Set([`${root}/${controllers}`, `${root}/cpu`, `${root}/cpu,cpuacct`])) {
        for (const dir of upToMount(mount, path)) {
          const cpus = ratio(read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`));
          if (cpus !== undefined) limits.push(cpus);
        }
      }
    }
  }
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

/**
 * Workers for `--workers auto`: the schedulable CPUs, capped by the cgroup CPU limit rounded
 * down (like libuv: a 1.5-CPU limit gives 1), at least 1 and at most `max`.
 */
export function autoWorkers(schedulable: number, limit: number | undefined, max: number): number {
  const byLimit = limit === undefined ? schedulable : Math.floor(limit);
  return Math.max(1, Math.min(max, schedulable, byLimit));
}
