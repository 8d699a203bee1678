/**
 * `npm run bench:audit`: `belay audit` (every rule, `-o json`) against a real kube-apiserver
 * + etcd (test/cluster/harness.ts) holding 5k, 20k and 50k objects, each audit in a fresh
 * process (bin/belay.js, the shipped launcher); records wall time, objects/s and the belay
 * process's peak RSS (VmHWM from /proc/<pid>/status) with the machine's details in
 * bench/results/audit.json. Target: 20k objects in < 20 s and < 500 MB, memory growing
 * sublinearly with the object count.
 *
 * The corpus is test/cluster/audit-seed.ts (101 objects per namespace: ConfigMaps,
 * ServiceAccounts, paused Deployments, Pods, Roles, RoleBindings, NetworkPolicies, with
 * known violations), seeded incrementally (5k → 20k → 50k) into one cluster with bounded
 * concurrency. Sizes: BENCH_SIZES (comma-separated, default 5000,20000,50000); audits per
 * size: BENCH_RUNS (default 3, the median is recorded). Seeding 50k objects takes minutes.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { OBJECTS_PER_NAMESPACE, seedRange } from "../test/cluster/audit-seed.ts";
import { startCluster } from "../test/cluster/harness.ts";
import { rawClient } from "../test/cluster/pss-support.ts";

const SIZES = (process.env.BENCH_SIZES ?? "5000,20000,50000").split(",").map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PREFIX = "bench";
const BIN = new URL("../bin/belay.js", import.meta.url).pathname;
const shebang = readFileSync(BIN, "utf8").split("\n")[0] as string;
const nodeFlags = shebang.split(" ").filter((word) => word.startsWith("--"));

interface Run {
  ms: number;
  peakRssMb: number;
  objects: number;
  findings: number;
  exitCode: number | null;
}

/** Run one audit in a child process, sampling its VmHWM until it exits. */
function auditOnce(kubeconfig: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeFlags, BIN, "audit", "-o", "json"], {
      env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let peakKb = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // The process has just exited.
      }
    };
    const timer = setInterval(sample, 10);
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // VmHWM only grows: a sample while output streams is close to the final peak.
      sample();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - started;
      clearInterval(timer);
      try {
        const doc = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          summary: { resources: number; findings: number };
        };
        resolve({
          ms,
          peakRssMb: peakKb / 1024,
          objects: doc.summary.resources,
          findings: doc.summary.findings,
          exitCode: code,
        });
      } catch (e) {
        reject(
          new Error(`belay audit exited ${code} without a JSON report: ${stderr.slice(0, 2000)}`, {
            cause: e,
          }),
        );
      }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const cluster = await startCluster({
  // Only storage is needed: no controller reconciles the seeded objects.
  controllerManager: false,
  log: (line) => process.stderr.write(`[cluster] ${line}\n`),
});
try {
  const client = await rawClient(cluster.kubeConfig, 16);
  const sizes: {
    /** The corpus size asked for (BENCH_SIZES). */
    objects: number;
    /** Objects the audit evaluated: the corpus plus what the cluster holds anyway. */
    objectsEvaluated: number;
    namespaces: number;
    seedMs: number;
    medianMs: number;
    objectsPerSecond: number;
    medianPeakRssMb: number;
    findings: number;
    raw: Run[];
  }[] = [];
  let seeded = 0;
  for (const size of SIZES) {
    const namespaces = Math.ceil(size / OBJECTS_PER_NAMESPACE);
    const started = performance.now();
    await seedRange(client, PREFIX, seeded, namespaces, 16);
    const seedMs = performance.now() - started;
    console.log(`seeded namespaces ${seeded}…${namespaces - 1} in ${(seedMs / 1000).toFixed(1)} s`);
    seeded = namespaces;
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = await auditOnce(cluster.kubeconfigPath);
      runs.push(run);
      console.log(
        `${size}: run ${i + 1}: ${run.ms.toFixed(0)} ms, ${run.peakRssMb.toFixed(0)} MB, ${run.objects} objects, ${run.findings} findings, exit ${run.exitCode}`,
      );
    }
    const ms = median(runs.map((r) => r.ms));
    const objects = runs[0]?.objects ?? 0;
    sizes.push({
      objects: size,
      objectsEvaluated: objects,
      namespaces,
      seedMs: Math.round(seedMs),
      medianMs: Math.round(ms),
      objectsPerSecond: Math.round((objects / ms) * 1000),
      medianPeakRssMb: Math.round(median(runs.map((r) => r.peakRssMb))),
      findings: runs[0]?.findings ?? 0,
      raw: runs,
    });
  }
  client.close();
  const result = {
    benchmark: "audit",
    date: new Date().toISOString(),
    command: "belay audit -o json (every rule, whole cluster)",
    kubernetes: cluster.version,
    corpus: { objectsPerNamespace: OBJECTS_PER_NAMESPACE, generator: "test/cluster/audit-seed.ts" },
    runs: RUNS,
    sizes,
    targets: { objects: 20_000, ms: 20_000, rssMb: 500 },
    nodeFlags,
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      platform: process.platform,
      note: "kube-apiserver and etcd run on the same machine as belay",
    },
  };
  writeFileSync(new URL("./results/audit.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  for (const s of sizes)
    console.log(
      `${s.objects} objects (${s.objectsEvaluated} evaluated): median ${s.medianMs} ms (${s.objectsPerSecond} objects/s), peak RSS ${s.medianPeakRssMb} MB`,
    );
} finally {
  await cluster.stop();
}
