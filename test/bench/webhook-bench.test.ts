/**
 * The webhook benchmark's own correctness (not its numbers): the AdmissionReview mix is what it
 * claims to be, and the load generator sends every request exactly once, checks every answer,
 * and counts what it could not send instead of dropping it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDecider } from "../../bench/lib/decide.ts";
import { generateReviews } from "../../bench/lib/reviews.ts";
import { median, percentile, processCpuMs, processMemoryMb, summary } from "../../bench/lib/stats.ts";
import { selfSignedCert } from "../../bench/lib/webhook-process.ts";
import type { LoadOptions, LoadResult } from "../../bench/webhook-load.ts";
import { parseReview } from "../../src/admission/review.ts";
import { createWebhookServer, type WebhookServer } from "../../src/admission/server.ts";
import { loadPolicySet } from "../../src/engine/policies.ts";
import { loadPaths } from "../../src/sources/files.ts";

const root = new URL("../../", import.meta.url).pathname;
let dir: string;
let tls: { certFile: string; keyFile: string; certPem: string };
let keyPem: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "belay-bench-test-"));
  tls = selfSignedCert(dir);
  keyPem = readFileSync(tls.keyFile, "utf8");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the AdmissionReview mix", () => {
  const reviews = generateReviews(400);

  it("is deterministic, valid and unique", () => {
    expect(generateReviews(400).map((r) => r.body)).toEqual(reviews.map((r) => r.body));
    expect(new Set(reviews.map((r) => r.uid)).size).toBe(400);
    for (const r of reviews) {
      const parsed = parseReview(JSON.parse(r.body));
      expect(parsed.uid).toBe(r.uid);
      expect(parsed.operation).toBe(r.operation);
      expect(parsed.kind.kind).toBe(r.kind);
      expect(parsed.oldObject === null).toBe(r.operation === "CREATE");
    }
  });

  it("covers every kind in both operations, compliant and not", () => {
    const seen = new Set(reviews.map((r) => `${r.kind} ${r.operation} ${r.compliant}`));
    for (const kind of ["Pod", "Deployment", "StatefulSet", "Service", "ConfigMap"])
      for (const op of ["CREATE", "UPDATE"])
        for (const compliant of [true, false]) expect(seen).toContain(`${kind} ${op} ${compliant}`);
    expect(reviews.filter((r) => r.operation === "CREATE").length).toBe(280);
    expect(reviews.filter((r) => r.compliant).length).toBe(200);
  });

  it("is admitted when compliant and denied when a non-compliant object is created (all rules and the catalog)", async () => {
    const sources = await loadPaths([join(root, "policies")], { readStdin: async () => "", cwd: root });
    const { set, errors } = loadPolicySet(sources.resources);
    expect(errors).toEqual([]);
    const decide = makeDecider({
      tlsCert: tls.certPem,
      tlsKey: keyPem,
      profiles: ["all"],
      policies: set,
      decisionLog: { write: () => true },
      log: { write: () => true },
    });
    for (const r of reviews) {
      const { response } = JSON.parse(decide(r.body)) as { response: { uid: string; allowed: boolean } };
      expect(response.uid).toBe(r.uid);
      if (r.compliant) expect(response.allowed, r.body).toBe(true);
      else if (r.operation === "CREATE") expect(response.allowed, r.body).toBe(false);
    }
  });
});

describe("the load generator", () => {
  let server: WebhookServer;
  let port: number;
  const decisions: string[] = [];
  let reviewsFile: string;

  beforeAll(async () => {
    reviewsFile = join(dir, "reviews.json");
    writeFileSync(reviewsFile, JSON.stringify(generateReviews(40).map((r) => r.body)));
    const created = createWebhookServer({
      tlsCert: tls.certPem,
      tlsKey: keyPem,
      port: 0,
      host: "127.0.0.1",
      decisionLog: { write: (line: string) => decisions.push(line) },
      log: { write: () => true },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    server = created.value;
    port = (await server.listen()).port;
  });
  afterAll(async () => {
    await server?.close();
  });

  const run = (options: Partial<LoadOptions>): Promise<LoadResult> => {
    const full: LoadOptions = {
      host: "127.0.0.1",
      port,
      ca: tls.certPem,
      reviewsFile,
      rate: 100,
      durationMs: 1000,
      maxConnections: 8,
      timeoutMs: 10_000,
      checkUids: true,
      ...options,
    };
    return new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        [join(root, "bench/webhook-load.ts"), JSON.stringify(full)],
        (error, stdout, stderr) => {
          if (error) return reject(new Error(stderr));
          // `measuring` when the measured window starts, then the result.
          const lines = stdout.trim().split("\n");
          expect(lines.slice(0, -1)).toEqual(["measuring"]);
          resolve(JSON.parse(lines.at(-1) as string) as LoadResult);
        },
      ),
    );
  };

  it("sends every due request once and checks every answer", async () => {
    const before = decisions.length;
    const result = await run({});
    expect(result.sent).toBe(100);
    expect(result.completed).toBe(100);
    expect(result.statusCodes).toEqual({ "200": 100 });
    expect(result.errors).toEqual({ connection: 0, timeout: 0, non2xx: 0, badResponse: 0 });
    // Every connection carried requests: a fresh one is used first (at this rate one request at
    // a time would do, and one left unused is answered 408 once the server's request timeout
    // passes).
    expect(result.unusedConnections).toBe(0);
    expect(result.verdicts.allowed + result.verdicts.warned + result.verdicts.denied).toBe(100);
    expect(result.verdicts.denied).toBeGreaterThan(0);
    expect(decisions.length - before).toBe(100);
    // The 40 reviews went round robin: each uid was decided 2 or 3 times.
    const uids = decisions.slice(before).map((l) => (JSON.parse(l) as { uid: string }).uid);
    expect(new Set(uids).size).toBe(40);
  });

  it("runs the warm-up first, on the same schedule, and leaves it out of the measured numbers", async () => {
    const before = decisions.length;
    const result = await run({ warmupMs: 500 });
    expect(result.warmup).toEqual({ requests: 50, errors: 0 });
    expect(result.sent).toBe(100);
    expect(result.completed).toBe(100);
    expect(result.statusCodes).toEqual({ "200": 100 });
    expect(result.verdicts.allowed + result.verdicts.warned + result.verdicts.denied).toBe(100);
    // The server saw both: 50 warm-up and 100 measured requests.
    expect(decisions.length - before).toBe(150);
  });

  it("counts requests it could not deliver as timeouts, never drops them", async () => {
    // A port nobody listens on: every connection is refused.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
      });
    });
    const result = await run({ port: closed, rate: 20, durationMs: 500, timeoutMs: 300 });
    expect(result.sent).toBe(0);
    expect(result.completed).toBe(10);
    expect(result.errors.timeout).toBe(10);
    expect(result.statusCodes).toEqual({});
  });
});

describe("statistics", () => {
  it("uses nearest-rank percentiles and the upper median", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBe(0);
    expect(summary(values)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
    expect(median([3, 1, 2, 4])).toBe(3);
  });

  it("reads a process's CPU time and memory from /proc", () => {
    expect(processCpuMs(process.pid)).toBeGreaterThan(0);
    const mem = processMemoryMb(process.pid);
    expect(mem.rssMb).toBeGreaterThan(0);
    expect(mem.peakRssMb).toBeGreaterThanOrEqual(mem.rssMb);
  });
});
