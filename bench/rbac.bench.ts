/**
 * `npm run bench:rbac`: RBAC analysis at scale. A generated world of 10,000 roles (Roles and
 * ClusterRoles, some aggregated) and 10,000 bindings over 50 namespaces; each run, in a fresh
 * process: index build time (reading objects, aggregation, indexes), `can` latency (an
 * explained decision with every grant), `who-can` latency, and peak RSS. Median over runs,
 * written with the machine's details to bench/results/rbac.json. Target: p99 < 20 ms.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { buildRbacIndex, readRbacObjects } from "../src/rbac/index.ts";
import { makeResource } from "../src/resources/parse.ts";
import { generateQuestions, generateWorld } from "../test/fixtures/rbac/world.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROLES = Number(process.env.BENCH_ROLES ?? 10_000);
const BINDINGS = Number(process.env.BENCH_BINDINGS ?? 10_000);
const CAN_QUESTIONS = 5_000;
const WHO_CAN_QUESTIONS = 500;

interface Run {
  objects: number;
  buildMs: number;
  can: { p50: number; p99: number; max: number; allowed: number };
  whoCan: { p50: number; p99: number; max: number; meanSubjects: number };
  peakRssMb: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function once(): Run {
  let peak = process.memoryUsage().rss;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const namespaces = Array.from({ length: 50 }, (_, i) => `ns-${i}`);
  const world = generateWorld({
    seed: 20_260_101,
    prefix: "bench",
    namespaces,
    clusterRoles: Math.round(ROLES * 0.49),
    aggregated: Math.round(ROLES * 0.01),
    roles: ROLES - Math.round(ROLES * 0.49) - Math.round(ROLES * 0.01),
    clusterRoleBindings: Math.round(BINDINGS * 0.3),
    roleBindings: BINDINGS - Math.round(BINDINGS * 0.3),
  });
  const resources = world.objects.map((o) => makeResource(o));
  sample();
  const t0 = performance.now();
  const index = buildRbacIndex(readRbacObjects(resources).objects);
  const buildMs = performance.now() - t0;
  sample();
  const questions = generateQuestions(world, 7, CAN_QUESTIONS);
  const canTimes: number[] = [];
  let allowed = 0;
  for (const q of questions) {
    const s = performance.now();
    if (index.authorize(q.user, q.request).allowed) allowed++;
    canTimes.push(performance.now() - s);
  }
  sample();
  const whoTimes: number[] = [];
  let subjects = 0;
  for (const q of questions.slice(0, WHO_CAN_QUESTIONS)) {
    const s = performance.now();
    subjects += index.whoCan(q.request).length;
    whoTimes.push(performance.now() - s);
  }
  sample();
  canTimes.sort((a, b) => a - b);
  whoTimes.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    objects: world.objects.length,
    buildMs: Math.round(buildMs),
    can: {
      p50: round(percentile(canTimes, 50)),
      p99: round(percentile(canTimes, 99)),
      max: round(canTimes.at(-1) ?? 0),
      allowed,
    },
    whoCan: {
      p50: round(percentile(whoTimes, 50)),
      p99: round(percentile(whoTimes, 99)),
      max: round(whoTimes.at(-1) ?? 0),
      meanSubjects: Math.round(subjects / whoTimes.length),
    },
    peakRssMb: Math.round(peak / 2 ** 20),
  };
}

if (process.argv.includes("--once")) {
  console.log(JSON.stringify(once()));
} else {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, "--once"], {
      encoding: "utf8",
    });
    const run = JSON.parse(out.trim().split("\n").pop() as string) as Run;
    runs.push(run);
    console.log(
      `run ${i + 1}: build ${run.buildMs} ms; can p50 ${run.can.p50} ms p99 ${run.can.p99} ms; who-can p50 ${run.whoCan.p50} ms p99 ${run.whoCan.p99} ms; RSS ${run.peakRssMb} MB`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const result = {
    benchmark: "rbac",
    date: new Date().toISOString(),
    world: { roles: ROLES, bindings: BINDINGS, namespaces: 50, objects: runs[0]?.objects },
    questions: { can: CAN_QUESTIONS, whoCan: WHO_CAN_QUESTIONS },
    runs: RUNS,
    median: {
      indexBuildMs: median(runs.map((r) => r.buildMs)),
      canP50Ms: median(runs.map((r) => r.can.p50)),
      canP99Ms: median(runs.map((r) => r.can.p99)),
      whoCanP50Ms: median(runs.map((r) => r.whoCan.p50)),
      whoCanP99Ms: median(runs.map((r) => r.whoCan.p99)),
      peakRssMb: median(runs.map((r) => r.peakRssMb)),
    },
    targets: { p99Ms: 20 },
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      platform: process.platform,
    },
    raw: runs,
  };
  writeFileSync(new URL("./results/rbac.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result.median));
}
