/**
 * The controller's pure pieces: watch-stream parsing (events split across chunks, bookmarks,
 * 410 inside the stream and as a status), backoff, durations, MicroTime. The behaviour
 * against a real API server is in test/cluster/controller*.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createControllerMetrics, createHealthServer } from "../../src/audit/controller-metrics.ts";
import { parseDuration } from "../../src/cli/controller.ts";
import {
  backoffDelay,
  type KubeClient,
  type KubeStreamResponse,
  microTime,
  NAMESPACED_KINDS,
  type WatchEvent,
  watchOnce,
  watchPath,
} from "../../src/kube/index.ts";
import { ok, type Result } from "../../src/result.ts";
import { runCli } from "../helpers.ts";

const CONFIGMAPS = NAMESPACED_KINDS.find((k) => k.kind === "ConfigMap") ?? NAMESPACED_KINDS[0];
if (!CONFIGMAPS) throw new Error("no kinds");

/** A client whose watch answers with `status` and the given body chunks. */
function streaming(status: number, chunks: string[]): KubeClient & { paths: string[] } {
  const paths: string[] = [];
  return {
    context: "test",
    server: "https://127.0.0.1:1",
    paths,
    send: async () => ok({ status: 500, body: undefined }),
    async stream(path: string): Promise<Result<KubeStreamResponse>> {
      paths.push(path);
      async function* body() {
        for (const chunk of chunks) yield Buffer.from(chunk);
      }
      return ok({ status, body: body() });
    },
    close() {},
  };
}

const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;
const cm = (name: string, rv: string) => ({ metadata: { name, namespace: "a", resourceVersion: rv } });

async function watch(client: KubeClient) {
  const events: WatchEvent[] = [];
  const end = await watchOnce(client, CONFIGMAPS as NonNullable<typeof CONFIGMAPS>, {
    resourceVersion: "10",
    timeoutSeconds: 300,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
  return { events, end };
}

describe("watchOnce", () => {
  it("asks for bookmarks from the resourceVersion with a server-side timeout", () => {
    expect(watchPath(CONFIGMAPS as NonNullable<typeof CONFIGMAPS>, "10", 300, "a")).toBe(
      "/api/v1/namespaces/a/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=10&timeoutSeconds=300",
    );
  });

  it("parses events split across chunks, skips bookmarks and resumes from the last resourceVersion", async () => {
    const text =
      line("ADDED", cm("x", "11")) +
      line("BOOKMARK", { metadata: { resourceVersion: "15" } }) +
      line("DELETED", cm("é", "16"));
    // Split inside a multi-byte character and inside lines.
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(Buffer.from("é")) + 1;
    const client = streaming(200, []);
    client.stream = async () => {
      async function* body() {
        yield bytes.subarray(0, 7);
        yield bytes.subarray(7, cut);
        yield bytes.subarray(cut);
      }
      return ok({ status: 200, body: body() });
    };
    const { events, end } = await watch(client);
    expect(events.map((e) => `${e.type} ${(e.object.metadata as { name: string }).name}`)).toEqual([
      "ADDED x",
      "DELETED é",
    ]);
    expect(end).toEqual({ end: "closed", resourceVersion: "16", events: 2 });
  });

  it("reports 410 Gone sent inside the stream", async () => {
    const { events, end } = await watch(
      streaming(200, [
        line("MODIFIED", cm("x", "12")),
        line("ERROR", {
          kind: "Status",
          code: 410,
          reason: "Expired",
          message: "too old resource version: 10 (20)",
        }),
      ]),
    );
    expect(events).toHaveLength(1);
    expect(end).toEqual({
      end: "gone",
      message: "watch configmaps: too old resource version: 10 (20) (HTTP 410)",
      events: 1,
    });
  });

  it("reports 410 Gone as a response status, and 403 as unavailable", async () => {
    const gone = await watch(
      streaming(410, [JSON.stringify({ kind: "Status", code: 410, message: "too old" })]),
    );
    expect(gone.end).toEqual({ end: "gone", message: "watch configmaps: too old (HTTP 410)", events: 0 });
    const forbidden = await watch(streaming(403, [JSON.stringify({ message: "forbidden" })]));
    expect(forbidden.end.end).toBe("unavailable");
    const failed = await watch(streaming(500, ["oops"]));
    expect(failed.end).toEqual({
      end: "error",
      message: "watch configmaps: HTTP 500",
      resourceVersion: "10",
      events: 0,
    });
  });

  it("turns a broken stream into an error that resumes from the last resourceVersion", async () => {
    const client = streaming(200, []);
    client.stream = async () => {
      async function* body() {
        yield Buffer.from(line("ADDED", cm("x", "13")));
        throw new Error("socket hang up");
      }
      return ok({ status: 200, body: body() });
    };
    const { end } = await watch(client);
    expect(end).toEqual({
      end: "error",
      message: "watch configmaps: socket hang up",
      resourceVersion: "13",
      events: 1,
    });
  });
});

describe("backoffDelay", () => {
  it("doubles from 500 ms to a 30 s cap, with jitter in [50%, 100%)", () => {
    const low = (n: number) => backoffDelay(n, { random: () => 0 });
    const high = (n: number) => backoffDelay(n, { random: () => 0.999999 });
    expect([1, 2, 3, 4].map(high)).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3].map(low)).toEqual([250, 500, 1000]);
    expect(high(20)).toBe(30_000);
    expect(low(1000)).toBe(15_000);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 250, random: () => 0.999999 })).toBe(250);
  });
});

describe("parseDuration", () => {
  it("reads Go-style durations", () => {
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1.5s")).toBe(1500);
    for (const bad of ["", "10", "m", "10 m", "-1s", "1d"]) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe("microTime", () => {
  it("writes RFC 3339 with microseconds, as metav1.MicroTime", () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe("2026-01-02T03:04:05.678000Z");
  });
});

describe("belay controller flags", () => {
  it("lists every bad flag at once and does not start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "belay-ctrl-"));
    try {
      const kubeconfig = join(dir, "config");
      writeFileSync(
        kubeconfig,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
          "users: [{name: u, user: {token: t}}]",
          "contexts: [{name: x, context: {cluster: c, user: u}}]",
          "current-context: x",
        ].join("\n"),
      );
      const result = await runCli(
        [
          "controller",
          "--report-api",
          "kyverno",
          "--resync",
          "10",
          "--leader-elect",
          "maybe",
          "--metrics-port",
          "99999",
          "--page-size",
          "0",
        ],
        { env: { KUBECONFIG: kubeconfig } },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        [
          "belay: controller not started:",
          '  --report-api: unknown "kyverno"; use one of wgpolicyk8s, openreports, both',
          '  --resync: "10" is not a duration of at least 1s (e.g. 10m, 1h)',
          '  --leader-elect: "maybe" is not true or false',
          '  --metrics-port: "99999" is not a port number',
          '  --page-size: "0" is not a positive integer',
          "",
        ].join("\n"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start without a readable kubeconfig", async () => {
    const result = await runCli(["controller", "--context", "nope"], {
      env: { KUBECONFIG: "/nonexistent/config" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^belay: controller not started:\n {2}cannot load kubeconfig: /);
  });
});

describe("the controller's metrics server", () => {
  it("serves /healthz, /readyz and /metrics, GET only", async () => {
    const metrics = createControllerMetrics();
    metrics.leader.set(1);
    let ready = false;
    const server = createHealthServer({ metrics, ready: () => ready });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const get = (path: string, method = "GET") =>
      fetch(`http://127.0.0.1:${port}${path}`, { method }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    try {
      expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" });
      expect((await get("/readyz")).status).toBe(503);
      ready = true;
      expect((await get("/readyz")).status).toBe(200);
      const scraped = await get("/metrics");
      expect(scraped.status).toBe(200);
      expect(scraped.text).toContain("belay_controller_leader 1");
      expect(scraped.text).toContain("# TYPE belay_controller_reports_total counter");
      expect((await get("/metrics", "POST")).status).toBe(405);
      expect((await get("/other")).status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
