/**
 * `belay controller`'s Prometheus metrics and its small HTTP server: `/metrics`, `/healthz`
 * (the process and its event loop answer) and `/readyz` (a standby, or a leader whose
 * watches are running and whose first full evaluation is done). Plain HTTP: nothing secret
 * is served. GET only, no request bodies, short timeouts.
 */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The controller's metrics, in their own registry. */
export interface ControllerMetrics {
  registry: Registry;
  /** Evaluations by scope (`namespace`, `cluster`) and outcome (`ok`, `error`). */
  evaluations: Counter<"scope" | "outcome">;
  /** Seconds one namespace (or the cluster scope) took: list, evaluate, write. */
  evaluationSeconds: Histogram<"scope">;
  /** Watch requests that ended and were started again, by kind and why (`closed`, `error`, `gone`…). */
  watchRestarts: Counter<"kind" | "reason">;
  /** (Re)lists for a watch's resourceVersion, by kind and reason (`initial`, `gone`). */
  relists: Counter<"kind" | "reason">;
  /** Watch events by kind and type. */
  watchEvents: Counter<"kind" | "type">;
  /** Report writes by API and action (`created`, `updated`, `unchanged`, `deleted`, `skipped`, `failed`). */
  reports: Counter<"api" | "action">;
  /** Evaluations whose report digest matched the last one written, so the API server was not asked. */
  reportsCached: Counter;
  /** Policy set (re)loads, by reason. */
  policyLoads: Counter<"reason">;
  /** 1 while this replica leads. */
  leader: Gauge;
  /** Namespaces waiting to be evaluated. */
  queueDepth: Gauge;
}

/** Fresh metrics in a new registry. Never throws. */
export function createControllerMetrics(): ControllerMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    evaluations: new Counter({
      name: "belay_controller_evaluations_total",
      help: "Evaluations of a namespace or of the cluster-scoped objects",
      labelNames: ["scope", "outcome"],
      registers,
    }),
    evaluationSeconds: new Histogram({
      name: "belay_controller_evaluation_duration_seconds",
      help: "Time to list, evaluate and report one namespace (or the cluster scope)",
      labelNames: ["scope"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    watchRestarts: new Counter({
      name: "belay_controller_watch_restarts_total",
      help: "Watch requests that ended and were started again",
      labelNames: ["kind", "reason"],
      registers,
    }),
    relists: new Counter({
      name: "belay_controller_relists_total",
      help: "Lists for a watch's starting resourceVersion (initial, or after 410 Gone)",
      labelNames: ["kind", "reason"],
      registers,
    }),
    watchEvents: new Counter({
      name: "belay_controller_watch_events_total",
      help: "Watch events received",
      labelNames: ["kind", "type"],
      registers,
    }),
    reports: new Counter({
      name: "belay_controller_reports_total",
      help: "Report writes by API and action",
      labelNames: ["api", "action"],
      registers,
    }),
    reportsCached: new Counter({
      name: "belay_controller_reports_cached_total",
      help: "Evaluations whose report equals the last one written (no request to the API server)",
      registers,
    }),
    policyLoads: new Counter({
      name: "belay_controller_policy_loads_total",
      help: "Loads of the policy set (cluster VAPs, bindings, params and --policy files)",
      labelNames: ["reason"],
      registers,
    }),
    leader: new Gauge({
      name: "belay_controller_leader",
      help: "1 while this replica is the leader",
      registers,
    }),
    queueDepth: new Gauge({
      name: "belay_controller_queue_depth",
      help: "Namespaces waiting to be evaluated",
      registers,
    }),
  };
}

/** Options of {@link createHealthServer}. */
export interface HealthServerOptions {
  metrics: ControllerMetrics;
  /** Whether `/readyz` answers 200. */
  ready: () => boolean;
}

/**
 * The metrics and health server (not listening yet). Only GET and HEAD on the three paths;
 * anything else is 404 or 405. Never throws.
 */
export function createHealthServer(options: HealthServerOptions): Server {
  const server = createServer(
    { maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000 },
    (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
        res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
        res.end(req.method === "HEAD" ? undefined : body);
      };
      if (path !== "/metrics" && path !== "/healthz" && path !== "/readyz") return reply(404, "not found\n");
      if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
      if (path === "/healthz") return reply(200, "ok\n");
      if (path === "/readyz") return options.ready() ? reply(200, "ok\n") : reply(503, "not ready\n");
      options.metrics.registry.metrics().then(
        (text) => reply(200, text, options.metrics.registry.contentType),
        (e: unknown) => reply(500, `metrics: ${e instanceof Error ? e.message : String(e)}\n`),
      );
    },
  );
  server.keepAliveTimeout = 5_000;
  server.timeout = 15_000;
  return server;
}
