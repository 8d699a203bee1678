import { describe, expect, it } from "vitest";
import { autoWorkers, cgroupCpuLimit } from "./cpu-limit.ts";

/** A filesystem of the given files (the kernel's formats, trailing newlines included). */
function files(entries: Record<string, string>) {
  return (path: string) => entries[path];
}

describe("cgroupCpuLimit", () => {
  it("reads a cgroup v2 container's own cpu.max at the mount root", () => {
    const read = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "150000 100000\n" });
    expect(cgroupCpuLimit(read)).toBe(1.5);
  });

  it("takes the smallest limit of the cgroup and its ancestors (v2), ignoring max", () => {
    const read = files({
      "/proc/self/cgroup": "0::/kubepods.slice/pod1.slice/ctr.scope\n",
      "/sys/fs/cgroup/kubepods.slice/pod1.slice/ctr.scope/cpu.max": "max 100000\n",
      "/sys/fs/cgroup/kubepods.slice/pod1.slice/cpu.max": "200000 100000\n",
      "/sys/fs/cgroup/kubepods.slice/cpu.max": "800000 100000\n",
      "/sys/fs/cgroup/cpu.max": "max 100000\n",
    });
    expect(cgroupCpuLimit(read)).toBe(2);
  });

  it("reads cgroup v1 quota over period, at the container's mount when the path is the host's", () => {
    const read = files({
      "/proc/self/cgroup":
        "12:memory:/kubepods/burstable/pod1/abc\n4:cpu,cpuacct:/kubepods/burstable/pod1/abc\n",
      "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "100000\n",
      "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuLimit(read)).toBe(1);
  });

  it("finds no limit for a v1 quota of -1, for max, and without /proc/self/cgroup", () => {
    const v1 = files({
      "/proc/self/cgroup": "1:cpu:/\n",
      "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
      "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuLimit(v1)).toBeUndefined();
    const v2 = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "max 100000\n" });
    expect(cgroupCpuLimit(v2)).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });

  it("ignores unreadable numbers instead of throwing", () => {
    const read = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "garbage\n" });
    expect(cgroupCpuLimit(read)).toBeUndefined();
  });
});

describe("autoWorkers", () => {
  it("caps the schedulable CPUs by the limit rounded down, between 1 and the maximum", () => {
    expect(autoWorkers(16, 1.5, 64)).toBe(1);
    expect(autoWorkers(16, 4, 64)).toBe(4);
    expect(autoWorkers(2, 8, 64)).toBe(2);
    expect(autoWorkers(4, 0.5, 64)).toBe(1);
    expect(autoWorkers(100, undefined, 64)).toBe(64);
    expect(autoWorkers(2, undefined, 64)).toBe(2);
  });
});
