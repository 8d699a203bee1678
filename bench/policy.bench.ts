/**
 * `npm run bench:policy`: the policy catalog on a 10,000-object corpus. Records compile time
 * per policy, throughput and per-object p50/p99 of evaluating every catalog policy (as a
 * CREATE request), median over several runs, in bench/results/policy.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { loadPolicySet } from "../src/engine/policies.ts";
import { evaluateAdmission, requestForObject } from "../src/policy/vap/index.ts";
import type { KubeObject } from "../src/resources/types.ts";
import { loadPaths } from "../src/sources/files.ts";
import { writeCorpus } from "./corpus.ts";

const COUNT = Number(process.env.BENCH_COUNT ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const root = new URL("..", import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;

const dir = mkdtempSync(join(tmpdir(), "belay-policy-bench-"));
try {
  writeCorpus(dir, COUNT);
  const corpus = await loadPaths([dir], { readStdin: async () => "", cwd: root });
  const catalog = await loadPaths([join(root, "policies")], { readStdin: async () => "", cwd: root });
  const sources = catalog.resources.filter((r) => r.ref.kind !== "PolicyTest");

  const compileStart = performance.now();
  const { set, errors } = loadPolicySet(sources);
  const compileMs = performance.now() - compileStart;
  if (errors.length > 0) throw new Error(`catalog does not load: ${errors.map((e) => e.message).join("; ")}`);

  const namespaces = new Map<string, KubeObject>();
  const namespaceOf = (name: string): KubeObject => {
    let ns = namespaces.get(name);
    if (!ns) {
      ns = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
      };
      namespaces.set(name, ns);
    }
    return ns;
  };
  const requests = corpus.resources.map((r) =>
    requestForObject(r.object, "CREATE", { namespaceObject: namespaceOf(r.ref.namespace ?? "default") }),
  );

  const runs: { ms: number; p50: number; p99: number; denied: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const perObject: number[] = [];
    let denied = 0;
    const start = performance.now();
    for (const request of requests) {
      const t = performance.now();
      const decision = evaluateAdmission(set.env, set.policies, set.bindings, request, set.params);
      perObject.push(performance.now() - t);
      if (!decision.allowed) denied++;
    }
    const ms = performance.now() - start;
    runs.push({ ms, p50: percentile(perObject, 0.5), p99: percentile(perObject, 0.99), denied });
    console.log(
      `run ${run + 1}: ${ms.toFixed(0)} ms, p50 ${(runs.at(-1)?.p50 ?? 0).toFixed(3)} ms, p99 ${(runs.at(-1)?.p99 ?? 0).toFixed(3)} ms, ${denied} denied`,
    );
  }
  const ms = median(runs.map((r) => r.ms));
  const result = {
    benchmark: "policy",
    date: new Date().toISOString(),
    policies: set.policies.length,
    bindings: set.bindings.length,
    objects: requests.length,
    runs: RUNS,
    compileMsTotal: Math.round(compileMs * 10) / 10,
    compileMsPerPolicy: Math.round((compileMs / Math.max(1, set.policies.length)) * 100) / 100,
    medianMs: Math.round(ms),
    objectsPerSecond: Math.round((requests.length / ms) * 1000),
    perObjectP50Ms: Math.round(median(runs.map((r) => r.p50)) * 1000) / 1000,
    perObjectP99Ms: Math.round(median(runs.map((r) => r.p99)) * 1000) / 1000,
    denied: runs[0]?.denied,
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      platform: process.platform,
    },
    rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  writeFileSync(new URL("./results/policy.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `${result.policies} policies compiled in ${result.compileMsTotal} ms; ${result.objectsPerSecond} objects/s, p50 ${result.perObjectP50Ms} ms, p99 ${result.perObjectP99Ms} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
