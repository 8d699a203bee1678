/**
 * `npm run bench:scan`: scan a generated corpus of 10,000 mixed resources with every rule,
 * five times, each in a fresh process; record median wall time, resources/s and peak RSS with
 * the machine's details in bench/results/scan.json. Target: < 2 s and < 400 MB.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { writeCorpus } from "./corpus.ts";

const COUNT = Number(process.env.BENCH_COUNT ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// Run scans with the node flags of the shipped launcher (its shebang line).
const shebang = readFileSync(new URL("../bin/belay.js", import.meta.url), "utf8").split("\n")[0] as string;
const nodeFlags = shebang.split(" ").filter((word) => word.startsWith("--"));
const dir = mkdtempSync(join(tmpdir(), "belay-bench-"));
try {
  const files = writeCorpus(dir, COUNT);
  const runs: { ms: number; maxRssMb: number; resources: number; findings: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(
      process.execPath,
      [...nodeFlags, new URL("./scan-once.ts", import.meta.url).pathname, dir],
      {
        encoding: "utf8",
        maxBuffer: 1 << 30,
      },
    );
    const run = JSON.parse(out.trim().split("\n").pop() as string);
    runs.push(run);
    console.log(
      `run ${i + 1}: ${run.ms.toFixed(0)} ms, ${run.maxRssMb.toFixed(0)} MB, ${run.resources} resources, ${run.findings} findings`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const ms = median(runs.map((r) => r.ms));
  const result = {
    benchmark: "scan",
    date: new Date().toISOString(),
    corpus: { resources: COUNT, files },
    runs: RUNS,
    medianMs: Math.round(ms),
    resourcesPerSecond: Math.round((COUNT / ms) * 1000),
    medianPeakRssMb: Math.round(median(runs.map((r) => r.maxRssMb))),
    findings: runs[0]?.findings,
    targets: { ms: 2000, rssMb: 400 },
    nodeFlags,
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      platform: process.platform,
    },
    raw: runs,
  };
  writeFileSync(new URL("./results/scan.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `median ${result.medianMs} ms (${result.resourcesPerSecond} resources/s), peak RSS ${result.medianPeakRssMb} MB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
