/**
 * The webhook benchmark's load generator, run as its own process by webhook.bench.ts so it
 * does not share an event loop with the server.
 *
 * Open loop at a fixed rate: request k is due at start + k/rate whatever happened to earlier
 * ones, and goes out on an idle kept-alive TLS connection (a new one is opened when all are
 * busy, up to `maxConnections`), one request per connection at a time like the API server's
 * HTTP/1.1 client. A slow answer therefore delays nothing else, and is measured (autocannon's
 * rate mode instead sends each connection's quota back to back at the start of every second).
 * Latency is from writing the request to the last byte of the answer; `fromDue` also counts
 * time a request waited for the client (event-loop lag, no idle connection), to show when the
 * generator itself fell behind.
 *
 * With `warmupMs`, the same schedule first runs that long unrecorded on the same connections:
 * the generator's own code is optimised and its connections are open before the measured
 * window, whose start it announces with a `measuring` line on stdout (so the caller can sample
 * the server's CPU over exactly that window). A fresh generator process otherwise spends its
 * first second in the interpreter and opening connections, and that second alone held 1.4 %
 * of a 30 s run's requests over 5 ms (measured at 1,000/s).
 *
 * Input: one JSON argument (see `LoadOptions`). Output: one JSON line (`LoadResult`) on stdout,
 * the last line (after `measuring`).
 */
import { readFileSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";
import { summary } from "./lib/stats.ts";

/** What to run. */
export interface LoadOptions {
  host: string;
  port: number;
  /** PEM CA (the webhook's self-signed certificate). */
  ca: string;
  /** A JSON file: an array of AdmissionReview bodies, sent in order, round robin. */
  reviewsFile: string;
  /** Requests per second. */
  rate: number;
  durationMs: number;
  maxConnections: number;
  /** A request without an answer after this long counts as an error (the API server's default is 10 s). */
  timeoutMs: number;
  /** Check every answer's uid against the request's. */
  checkUids: boolean;
  /** Run the schedule this long, unrecorded, before the measured `durationMs` (default 0). */
  warmupMs?: number;
}

/** What happened. Latencies in ms. */
export interface LoadResult {
  targetRate: number;
  durationMs: number;
  sent: number;
  completed: number;
  achievedRate: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  fromDue: { p50: number; p90: number; p99: number; max: number };
  /**
   * connection: the connection failed with the request on it; timeout: no answer `timeoutMs`
   * after it was due (sent, or still waiting for a connection: the generator never drops a
   * request silently); non2xx; badResponse: unparseable, or the uid of another request.
   */
  errors: { connection: number; timeout: number; non2xx: number; badResponse: number };
  statusCodes: Record<string, number>;
  verdicts: { allowed: number; denied: number; warned: number };
  /** The most connections open at once. */
  connections: number;
  /**
   * Connections opened (warm-up included) that never carried a request: one opened for a burst
   * that was over before it was ready, or that failed first.
   */
  unusedConnections: number;
  /** Over the measured window. */
  clientCpuMs: number;
  /** The unrecorded warm-up: its requests, and those that failed (any kind). */
  warmup: { requests: number; errors: number };
}

interface Pending {
  due: number;
  sent: number;
  uid: string;
  /** False for a warm-up request: it counts only in `warmup`. */
  measured: boolean;
}

interface Conn {
  socket: TLSSocket;
  ready: boolean;
  pending: Pending | undefined;
  buffer: Buffer;
  timer: NodeJS.Timeout | undefined;
  /** Has carried a request. */
  used: boolean;
}

const options = JSON.parse(process.argv[2] as string) as LoadOptions;
const bodies = JSON.parse(readFileSync(options.reviewsFile, "utf8")) as string[];
const requests = bodies.map((body) => {
  const length = Buffer.byteLength(body);
  return {
    uid: (JSON.parse(body) as { request: { uid: string } }).request.uid,
    bytes: Buffer.from(
      `POST /validate?timeout=10s HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`,
    ),
  };
});

const latencies: number[] = [];
const fromDue: number[] = [];
const errors = { connection: 0, timeout: 0, non2xx: 0, badResponse: 0 };
const statusCodes: Record<string, number> = {};
const verdicts = { allowed: 0, denied: 0, warned: 0 };
const conns: Conn[] = [];
const queue: { due: number; index: number }[] = [];
let sent = 0;
let completed = 0;
let next = 0;
let peakConnections = 0;
let opened = 0;
let used = 0;
const warmupTally = { requests: 0, errors: 0 };
/** Where the measured window starts (set when the clock starts). */
let measuredFrom = Number.POSITIVE_INFINITY;

/** Count a failed request (sent, or due and never sent): in `errors`, or in the warm-up's. */
function failed(measured: boolean, kind: keyof typeof errors): void {
  if (measured) errors[kind]++;
  else warmupTally.errors++;
}

function open(): Conn {
  const conn: Conn = {
    socket: connect({ host: options.host, port: options.port, ca: options.ca, minVersion: "TLSv1.2" }),
    ready: false,
    pending: undefined,
    buffer: Buffer.alloc(0),
    timer: undefined,
    used: false,
  };
  opened++;
  conn.socket.setNoDelay(true);
  conn.socket.on("secureConnect", () => {
    conn.ready = true;
    pump();
  });
  conn.socket.on("data", (chunk: Buffer) => onData(conn, chunk));
  const fail = () => {
    if (conn.pending) {
      failed(conn.pending.measured, "connection");
      conn.pending = undefined;
      completed++;
    }
    clearTimeout(conn.timer);
    conn.ready = false;
    const at = conns.indexOf(conn);
    if (at >= 0) conns.splice(at, 1);
  };
  conn.socket.on("error", fail);
  conn.socket.on("close", fail);
  conns.push(conn);
  peakConnections = Math.max(peakConnections, conns.length);
  return conn;
}

function send(conn: Conn, due: number, index: number): void {
  const request = requests[index % requests.length] as { uid: string; bytes: Buffer };
  const now = performance.now();
  const measured = due >= measuredFrom;
  conn.pending = { due, sent: now, uid: request.uid, measured };
  if (!conn.used) {
    conn.used = true;
    used++;
  }
  conn.buffer = Buffer.alloc(0);
  conn.timer = setTimeout(() => {
    failed(measured, "timeout");
    conn.pending = undefined;
    completed++;
    conn.socket.destroy();
  }, options.timeoutMs);
  conn.socket.write(request.bytes);
  if (measured) sent++;
  else warmupTally.requests++;
}

function onData(conn: Conn, chunk: Buffer): void {
  conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
  const headerEnd = conn.buffer.indexOf("\r\n\r\n");
  if (headerEnd < 0 || conn.pending === undefined) return;
  const head = conn.buffer.subarray(0, headerEnd).toString("latin1");
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? Number.NaN);
  if (Number.isNaN(length)) {
    failed(conn.pending.measured, "badResponse");
    finish(conn);
    conn.socket.destroy();
    return;
  }
  if (conn.buffer.length < headerEnd + 4 + length) return;
  const pending = conn.pending;
  const now = performance.now();
  const status = head.slice(9, 12);
  let problem: keyof typeof errors | undefined;
  let verdict: keyof typeof verdicts = "allowed";
  if (status !== "200") problem = "non2xx";
  else {
    const body = conn.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8");
    try {
      const response = (
        JSON.parse(body) as { response: { uid: string; allowed: boolean; warnings?: string[] } }
      ).response;
      if (options.checkUids && response.uid !== pending.uid) problem = "badResponse";
      else if (!response.allowed) verdict = "denied";
      else if (response.warnings?.length) verdict = "warned";
    } catch {
      problem = "badResponse";
    }
  }
  if (problem !== undefined) failed(pending.measured, problem);
  if (pending.measured) {
    latencies.push(now - pending.sent);
    fromDue.push(now - pending.due);
    statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    if (problem === undefined) verdicts[verdict]++;
  }
  finish(conn);
  pump();
}

function finish(conn: Conn): void {
  clearTimeout(conn.timer);
  conn.pending = undefined;
  conn.buffer = Buffer.alloc(0);
  completed++;
}

/**
 * An idle connection, one that has never carried a request first: as in Go's transport (the API
 * server's client), a newly dialled connection is the next one used. Otherwise the first idle
 * one, so a few connections carry the load. A connection opened for a burst and then left
 * unused would be answered 408 and closed by the server once its request timeout passed (a
 * connection that sends nothing is a slow client to it), and a request sent on it just then
 * would fail: the generator's doing, not the server's.
 */
function idleConnection(): Conn | undefined {
  let idle: Conn | undefined;
  for (const c of conns) {
    if (!c.ready || c.pending !== undefined) continue;
    if (!c.used) return c;
    idle ??= c;
  }
  return idle;
}

/** Send every due request that has an idle connection; open connections for the rest. */
function pump(): void {
  // A request that could not even be sent within the timeout has failed like an unanswered one.
  const expired = performance.now() - options.timeoutMs;
  while (queue.length > 0 && (queue[0] as { due: number }).due < expired) {
    const item = queue.shift() as { due: number };
    // Never sent: not in `sent`; a warm-up one still counts among the warm-up's requests.
    failed(item.due >= measuredFrom, "timeout");
    if (item.due < measuredFrom) warmupTally.requests++;
    completed++;
  }
  while (queue.length > 0) {
    const idle = idleConnection();
    if (idle === undefined) {
      const opening = conns.filter((c) => !c.ready).length;
      if (conns.length < options.maxConnections && opening < queue.length) open();
      return;
    }
    const item = queue.shift() as { due: number; index: number };
    send(idle, item.due, item.index);
  }
}

let cpuStart = process.cpuUsage();
// Connections for the steady state are opened before the clock starts.
const initial = Math.max(2, Math.min(options.maxConnections, Math.ceil(options.rate / 250)));
for (let i = 0; i < initial; i++) open();
await new Promise<void>((resolve) => {
  const check = () => (conns.every((c) => c.ready) ? resolve() : setTimeout(check, 5));
  check();
});

const warmupCount = Math.round((options.rate * (options.warmupMs ?? 0)) / 1000);
const total = warmupCount + Math.round((options.rate * options.durationMs) / 1000);
const start = performance.now();
measuredFrom = start + (warmupCount * 1000) / options.rate;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) * options.rate) / 1000) + 1);
    for (; next < due; next++) {
      if (next === warmupCount) {
        // The measured window starts with this request.
        process.stdout.write("measuring\n");
        cpuStart = process.cpuUsage();
        peakConnections = conns.length;
      }
      queue.push({ due: start + (next * 1000) / options.rate, index: next });
    }
    pump();
    if (next >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
// Drain: every request is answered, has failed, or has timed out.
await new Promise<void>((resolve) => {
  const check = () => {
    pump();
    if (completed >= total) resolve();
    else setTimeout(check, 5);
  };
  check();
});
const elapsed = performance.now() - measuredFrom;
const cpu = process.cpuUsage(cpuStart);
const result: LoadResult = {
  targetRate: options.rate,
  durationMs: Math.round(elapsed),
  sent,
  completed: completed - warmupTally.requests,
  achievedRate: Math.round((latencies.length / elapsed) * 1000),
  latency: summary(latencies),
  fromDue: summary(fromDue),
  errors,
  statusCodes,
  verdicts,
  connections: peakConnections,
  unusedConnections: opened - used,
  clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  warmup: warmupTally,
};
for (const conn of conns) conn.socket.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
