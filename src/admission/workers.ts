/**
 * `belay webhook --workers N`: one webhook using several cores. The process that the user
 * started becomes a primary (node:cluster) once the whole setup has been validated: it forks
 * N workers, each running the ordinary single-process webhook on the same port (the primary
 * accepts connections and hands them out round-robin; it never serves HTTP), forwards
 * SIGTERM/SIGINT, restarts a worker that dies with a capped backoff, and answers the
 * workers' `/metrics` with every worker's metrics summed.
 *
 * A worker is the same command line run again (cluster.fork re-executes it), so it loads
 * exactly what the primary validated. A worker that exits before it ever listened (port in
 * use, a file changed meanwhile) stops the whole group: the primary reports that worker's
 * reason and exits 2 rather than restarting it in a loop.
 *
 * Messages over the IPC channel (all `{type: "belay:…"}`): a worker sends `listening`,
 * `failed`, `metrics?` (a scrape); the primary sends `collect` (its registry as JSON) and
 * `metrics` (the summed text). This module is the only importer of node:cluster.
 */
import cluster, { type Worker } from "node:cluster";
import { getSystemErrorMessage } from "node:util";
import { AggregatorRegistry, type Registry } from "prom-client";
import { err, ok, type Result } from "../result.ts";
import type { LineWriter } from "./reviewer.ts";

/** Set in a forked worker's environment, so a webhook run under another cluster primary (pm2) is not mistaken for one. */
const WORKER_ENV = "BELAY_WEBHOOK_WORKER";
/** The longest wait before a crashed worker is replaced. */
export const MAX_RESTART_DELAY_MS = 10_000;
/** The first wait; it doubles with each crash of the same slot within {@link CRASH_WINDOW_MS}. */
const FIRST_RESTART_DELAY_MS = 100;
const CRASH_WINDOW_MS = 60_000;
/** How long the primary waits for the workers' registries, and a worker for the primary's sum. */
const COLLECT_TIMEOUT_MS = 5_000;
const SCRAPE_TIMEOUT_MS = 8_000;

/** One registry's metrics as `getMetricsAsJSON()` gives them (what the aggregation sums). */
type MetricJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

type Message =
  | { type: "belay:listening"; port: number }
  | { type: "belay:failed"; message: string }
  | { type: "belay:metrics?"; id: number }
  | { type: "belay:metrics"; id: number; text?: string; error?: string }
  | { type: "belay:collect"; id: number }
  | { type: "belay:collected"; id: number; metrics: MetricJson; error?: string };

const isMessage = (m: unknown): m is Message =>
  typeof m === "object" && m !== null && String((m as { type?: unknown }).type).startsWith("belay:");

/**
 * The wait before replacing a worker that crashed `recentCrashes` times (this one included)
 * in the last minute: 100 ms, doubling, at most {@link MAX_RESTART_DELAY_MS}.
 *
 * @example restartDelay(3) // 400
 */
export function restartDelay(recentCrashes: number): number {
  return Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, recentCrashes - 1));
}

/**
 * The reason a listen failed, worded the same in a worker as in a single process: a cluster
 * worker gets the primary's `bind EADDRINUSE 0.0.0.0:8443`, a single process
 * `listen EADDRINUSE: address already in use 0.0.0.0:8443`. Never throws.
 */
export function listenErrorMessage(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.syscall === "bind" && typeof e.errno === "number" && e.code !== undefined && e.address !== undefined)
    return `listen ${e.code}: ${getSystemErrorMessage(e.errno)} ${e.address}:${e.port}`;
  return e instanceof Error ? e.message : String(error);
}

/** One JSON log line like the server's own (`{"time","level","event",...}`). */
function logLine(writer: LineWriter, event: string, fields: Record<string, unknown> = {}): void {
  writer.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: fields.level ?? "info", event, ...fields })}\n`,
  );
}

/** What a forked worker uses to talk to its primary. */
export interface WorkerLink {
  /** The cluster worker id (1, 2, …; a replacement gets the next unused id). */
  readonly id: number;
  /**
   * Resolves on SIGTERM (the primary forwards it). SIGINT is ignored: a terminal's Ctrl+C
   * reaches the whole process group and the primary decides. (Should the primary die,
   * node:cluster ends the worker at once when the IPC channel closes.)
   */
  readonly stopSignal: Promise<string>;
  /** A writer that adds `"worker": id` to every JSON line (other lines pass unchanged). */
  tag(writer: LineWriter): LineWriter;
  /** Answer the primary's collection requests with this registry. */
  serveMetrics(registry: Registry): void;
  /** Every worker's metrics summed, from the primary (Prometheus text). Rejects after a timeout. */
  metricsText(): Promise<string>;
  /** Tell the primary this worker serves `port`. */
  listening(port: number): void;
  /** Tell the primary why this worker could not start; resolves once the message is sent. */
  failed(message: string): Promise<void>;
  /** Leave the cluster so the process can exit (the IPC channel would keep it alive). */
  close(): void;
}

/**
 * The link to the primary when this process is a webhook worker forked by {@link runPrimary},
 * else undefined. Installs the worker's signal handlers at once, so a SIGTERM during
 * startup is not lost. Call at most once.
 */
export function joinPrimary(): WorkerLink | undefined {
  const worker = cluster.worker;
  if (!cluster.isWorker || worker === undefined || process.env[WORKER_ENV] !== "1") return undefined;
  let registry: Registry | undefined;
  let nextScrape = 0;
  const scrapes = new Map<number, { resolve(text: string): void; reject(e: Error): void }>();
  let stop: (signal: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => (stop = resolve));
  const onMessage = (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === "belay:collect") {
      const id = message.id;
      void (registry?.getMetricsAsJSON() ?? Promise.resolve([] as MetricJson)).then(
        (metrics) => send({ type: "belay:collected", id, metrics }),
        (e: Error) => send({ type: "belay:collected", id, metrics: [], error: e.message }),
      );
    } else if (message.type === "belay:metrics") {
      const waiting = scrapes.get(message.id);
      scrapes.delete(message.id);
      if (message.text !== undefined) waiting?.resolve(message.text);
      else waiting?.reject(new Error(`metrics of the other workers: ${message.error ?? "no answer"}`));
    }
  };
  const send = (message: Message) =>
    new Promise<void>((resolve) => {
      if (!process.connected || process.send === undefined) resolve();
      else process.send(message, undefined, {}, () => resolve());
    });
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => {});
  process.on("message", onMessage);
  const id = worker.id;
  const prefix = `{"worker":${id},`;
  return {
    id,
    stopSignal,
    tag: (writer) => ({
      write: (line: string) => writer.write(line.startsWith("{") ? prefix + line.slice(1) : line),
    }),
    serveMetrics(r) {
      registry = r;
    },
    metricsText() {
      const scrape = nextScrape++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          scrapes.delete(scrape);
          reject(new Error(`metrics of the other workers: no answer within ${SCRAPE_TIMEOUT_MS} ms`));
        }, SCRAPE_TIMEOUT_MS);
        scrapes.set(scrape, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        void send({ type: "belay:metrics?", id: scrape });
      });
    },
    listening(port) {
      void send({ type: "belay:listening", port });
    },
    failed: (message) => send({ type: "belay:failed", message }),
    close() {
      process.off("message", onMessage);
      // The signal handlers stay: a late SIGTERM must not kill the process while it flushes.
      // The worker's own disconnect marks the exit as intended, so node:cluster does not call process.exit.
      if (process.connected) worker.disconnect();
    },
  };
}

/** How to run the primary. */
export interface PrimaryOptions {
  /** How many workers (2…64). */
  workers: number;
  /** Operational log (stderr): JSON lines. */
  log: LineWriter;
  /** Resolves when the group should shut down (the command's SIGTERM/SIGINT). */
  stopSignal: Promise<string>;
  /** Called once every worker listens. */
  onListening?: (port: number) => void;
}

/** One worker position: the process filling it now and its recent crashes. */
interface Slot {
  worker: Worker | undefined;
  listening: boolean;
  crashes: number[];
  restart?: NodeJS.Timeout;
  /** The worker this one replaces, for the log. */
  replaces?: number;
}

/**
 * The workers' Node flags: the primary's plus `--single-threaded-gc`. Each worker is sized to
 * one CPU (`--webhook-cpus N` runs N workers under an N-CPU limit), and V8's helper threads
 * for parallel and concurrent collection only took CPU from the other workers, and from the
 * CPU limit. Measured with `--workers 2` at 1,000 requests/s, alternating 20 s runs: the
 * slowest request was shorter in 6 of 6 runs, p99 lower in 4 of 6 (bench:webhook holds the
 * numbers, docs/performance.md).
 */
export function workerExecArgv(primary: readonly string[]): string[] {
  return primary.includes(SINGLE_THREADED_GC) ? [...primary] : [...primary, SINGLE_THREADED_GC];
}
const SINGLE_THREADED_GC = "--single-threaded-gc";

/**
 * Fork `workers` copies of this command and supervise them until `stopSignal`: then SIGTERM
 * to each, wait for all to drain and exit, and resolve ok. Resolves an error (the reason a
 * worker gave, else its exit) when a worker exits before it ever listened, after stopping
 * the others. Must run in the CLI process (the workers re-execute `process.argv`). Never
 * throws.
 */
export function runPrimary(options: PrimaryOptions): Promise<Result<void, string>> {
  const log = (event: string, fields?: Record<string, unknown>) => logLine(options.log, event, fields);
  const slots: Slot[] = Array.from({ length: options.workers }, () => ({
    worker: undefined,
    listening: false,
    crashes: [],
  }));
  let phase: "starting" | "running" | "stopping" = "starting";
  let port = 0;
  let failure: string | undefined;
  let finish: (result: Result<void, string>) => void = () => {};
  const done = new Promise<Result<void, string>>((resolve) => (finish = resolve));
  const reasons = new Map<number, string>();
  let nextCollect = 0;
  const collections = new Map<
    number,
    { pending: Set<number>; responses: MetricJson[]; answer(text?: string, error?: string): void }
  >();

  const live = () => slots.filter((s) => s.worker !== undefined);
  const finishIfEmpty = () => {
    if (phase !== "stopping" || live().length > 0) return;
    if (failure === undefined) log("workers stopped");
    finish(failure === undefined ? ok(undefined) : err(failure));
  };
  const stopAll = () => {
    phase = "stopping";
    for (const slot of slots) {
      clearTimeout(slot.restart);
      slot.worker?.process.kill("SIGTERM");
    }
    finishIfEmpty();
  };

  /** Sum every listening worker's registry; a worker that exits meanwhile is left out. */
  const collect = (answer: (text?: string, error?: string) => void) => {
    const id = nextCollect++;
    const targets = slots.flatMap((s) => (s.listening && s.worker?.isConnected() ? [s.worker] : []));
    let answered = false;
    const entry = {
      pending: new Set(targets.map((w) => w.id)),
      responses: [] as MetricJson[],
      answer: (text?: string, error?: string) => {
        clearTimeout(timer);
        collections.delete(id);
        if (!answered) answer(text, error);
        answered = true;
      },
    };
    const timer = setTimeout(
      () => entry.answer(undefined, `no answer from every worker within ${COLLECT_TIMEOUT_MS} ms`),
      COLLECT_TIMEOUT_MS,
    );
    collections.set(id, entry);
    for (const w of targets) w.send({ type: "belay:collect", id } satisfies Message);
    settle(id);
  };
  const settle = (id: number) => {
    const entry = collections.get(id);
    if (entry === undefined || entry.pending.size > 0) return;
    collections.delete(id);
    AggregatorRegistry.aggregate(entry.responses)
      .metrics()
      .then(
        (text) => entry.answer(text),
        (e: Error) => entry.answer(undefined, e.message),
      );
  };

  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv) });
  const fork = (slot: Slot) => {
    const worker = cluster.fork({ [WORKER_ENV]: "1" });
    slot.worker = worker;
    slot.listening = false;
    worker.on("message", (message: unknown) => {
      if (!isMessage(message)) return;
      if (message.type === "belay:listening") onListening(slot, worker, message.port);
      else if (message.type === "belay:failed") reasons.set(worker.id, message.message);
      else if (message.type === "belay:metrics?") {
        const scrape = message.id;
        collect((text, error) => {
          if (worker.isConnected())
            worker.send({
              type: "belay:metrics",
              id: scrape,
              ...(text !== undefined ? { text } : { error: error ?? "unknown error" }),
            } satisfies Message);
        });
      } else if (message.type === "belay:collected") {
        const entry = collections.get(message.id);
        if (message.error !== undefined) entry?.answer(undefined, `worker ${worker.id}: ${message.error}`);
        else if (entry?.pending.delete(worker.id)) {
          entry.responses.push(message.metrics);
          settle(message.id);
        }
      }
    });
    worker.on("exit", (code: number | null, signal: string | null) => onExit(slot, worker, code, signal));
    // A message to a worker that is going away: logged, never fatal to the primary.
    worker.on("error", (e: Error) =>
      log("worker channel error", { level: "warn", worker: worker.id, error: e.message }),
    );
  };

  const onListening = (slot: Slot, worker: Worker, bound: number) => {
    slot.listening = true;
    port = bound;
    if (phase === "starting" && slots.every((s) => s.listening)) {
      phase = "running";
      log("workers started", {
        workers: slots.length,
        port,
        pids: slots.map((s) => s.worker?.process.pid),
      });
      options.onListening?.(port);
    } else if (phase === "running") {
      log("worker started", { worker: worker.id, pid: worker.process.pid, replaces: slot.replaces });
    }
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    const wasListening = slot.listening;
    slot.worker = undefined;
    slot.listening = false;
    for (const [id, entry] of collections) if (entry.pending.delete(worker.id)) settle(id);
    const exit = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (phase === "stopping") {
      if (code !== 0) log("worker exited", { level: "warn", ...exit });
      finishIfEmpty();
      return;
    }
    if (!wasListening) {
      failure =
        reasons.get(worker.id) ??
        `webhook not started: worker ${worker.id} (pid ${worker.process.pid}) exited with ${signal !== null ? `signal ${signal}` : `code ${code}`} before listening`;
      log("worker failed to start", { level: "error", ...exit, reason: failure });
      stopAll();
      return;
    }
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const delay = restartDelay(slot.crashes.length);
    log("worker exited", { level: "error", ...exit, restartInMs: delay });
    slot.replaces = worker.id;
    slot.restart = setTimeout(() => {
      if (phase !== "stopping") fork(slot);
    }, delay);
  };

  void options.stopSignal.then((signal) => {
    if (phase === "stopping") return;
    log(`received ${signal}`, { workers: live().map((s) => s.worker?.process.pid) });
    stopAll();
  });
  for (const slot of slots) fork(slot);
  return done;
}
