/**
 * Fuzzing the webhook: 100,000+ random and mutated AdmissionReviews through the server's
 * whole handler chain (`inject`: body parser, limits, routes, error handler — everything
 * but the socket), with built-in rules, user policies and `/mutate`. Every answer must be a
 * valid AdmissionReview (uid echoed, well-formed warnings, annotations and patches) or a JSON
 * `{"error"}` with a 4xx status; never a 5xx, a crash or an unhandled rejection. The work is
 * split over worker threads (fuzz-shard.ts), one server each.
 *
 * Seedable: BELAY_FUZZ_SEED=<n> replays a run (the seed is printed); BELAY_FUZZ_COUNT=<n>
 * changes the number of requests, BELAY_FUZZ_SHARDS=<n> the number of threads.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { ShardResult } from "./fuzz-shard.ts";

const SEED = Number(process.env.BELAY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.BELAY_FUZZ_COUNT ?? 100_000);
const SHARDS = Number(process.env.BELAY_FUZZ_SHARDS ?? Math.min(4, Math.max(2, availableParallelism())));

function runWorker(shard: number, count: number): Promise<ShardResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./fuzz-shard.ts", import.meta.url), {
      workerData: { fuzzShard: true, seed: SEED, shard, count },
    });
    let settled = false;
    worker.once("message", (result: ShardResult) => {
      settled = true;
      resolve(result);
      void worker.terminate();
    });
    worker.once("error", (e) => {
      settled = true;
      reject(new Error(`fuzz shard ${shard} (seed ${SEED}) crashed: ${e.stack ?? e}`));
    });
    worker.once("exit", (code) => {
      if (!settled)
        reject(new Error(`fuzz shard ${shard} (seed ${SEED}) exited with ${code} without a result`));
    });
  });
}

describe("webhook fuzz", () => {
  it(`answers ${COUNT} random and mutated reviews with valid AdmissionReviews or JSON errors`, async () => {
    console.log(
      `webhook fuzz: seed ${SEED} (replay with BELAY_FUZZ_SEED=${SEED}), ${COUNT} requests, ${SHARDS} threads`,
    );
    const per = Math.ceil(COUNT / SHARDS);
    const results = await Promise.all(
      Array.from({ length: SHARDS }, (_, shard) => runWorker(shard, Math.min(per, COUNT - shard * per))),
    );
    const statuses: Record<number, number> = {};
    for (const r of results)
      for (const [status, n] of Object.entries(r.statuses))
        statuses[Number(status)] = (statuses[Number(status)] ?? 0) + n;
    console.log(`webhook fuzz: statuses ${JSON.stringify(statuses)}`);
    const total = Object.values(statuses).reduce((a, b) => a + b, 0);
    expect(total).toBe(COUNT);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(results.flatMap((r) => r.unhandled)).toEqual([]);
    expect(results.flatMap((r) => r.errorLogs)).toEqual([]);
    expect(results.map((r) => r.healthz)).toEqual(results.map(() => 200));
    // Both paths were exercised in earnest.
    expect(statuses[200] ?? 0).toBeGreaterThan(COUNT / 4);
    expect(statuses[400] ?? 0).toBeGreaterThan(COUNT / 20);
  }, 300_000);
});
