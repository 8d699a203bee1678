/**
 * The webhook benchmark's floor: the least any Node.js admission webhook costs on this machine.
 *
 * The benchmark's machine is small and shared (the load generator runs on the same two cores)
 * and its speed drifts by a third from hour to hour, so an absolute p99 cannot say how much of
 * the tail is belay and how much is the machine. This server does only what every webhook must
 * do — TLS, HTTP/1.1, read the body, `JSON.parse` it, answer allowed with the request's uid — and
 * no evaluation, metrics or decision log. webhook.bench.ts loads it right after belay's phase at
 * the target rate, with the same generator and options, so the two share the machine's state
 * and their ratio is what belay adds.
 *
 * Like for like with `belay webhook`: the same certificate, TLS 1.2+, the same body limit,
 * request timeout and keep-alive timeout (120 s), and with `--workers N` above 1 the
 * same node:cluster round-robin balancing of connections over N worker processes.
 *
 * Usage: `node bench/floor-server.ts --tls-cert F --tls-key F [--workers N] [--port 0] [--host 127.0.0.1]`.
 * Prints `{"event":"listening","port":N}` on stderr once every worker listens (the line
 * startWebhookProcess waits for); SIGTERM closes the server and exits 0.
 */
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import { parseArgs } from "node:util";

/** The webhook's defaults (src/admission/reviewer.ts). */
const BODY_LIMIT = 3 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 15_000;
/** `belay webhook`'s (longer than the API server keeps an idle connection). */
const KEEP_ALIVE_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    workers: { type: "string", default: "1" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1)
  throw new Error(`--workers: not a positive integer: ${values.workers}`);

if (cluster.isPrimary && workers > 1) supervise();
else serve();

/** The primary: fork the workers, report the shared port once all listen, stop them on SIGTERM. */
function supervise(): void {
  let listening = 0;
  let alive = 0;
  let stopping = false;
  cluster.on("listening", (_worker, address) => {
    if (++listening === workers)
      process.stderr.write(`${JSON.stringify({ event: "listening", port: address.port })}\n`);
  });
  cluster.on("exit", (worker, code, signal) => {
    alive--;
    // A floor that lost a worker would measure something else: stop rather than replace it.
    if (!stopping) {
      process.stderr.write(
        `${JSON.stringify({ event: "worker exited", level: "error", pid: worker.process.pid, code, signal })}\n`,
      );
      stop(1);
    } else if (alive === 0) process.exit();
  });
  const stop = (code: number) => {
    stopping = true;
    process.exitCode = code;
    if (alive === 0) process.exit();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
  for (; alive < workers; alive++) cluster.fork();
}

/** One HTTPS server (a worker, or the only process). */
function serve(): void {
  const server = createServer(
    {
      cert: readFileSync(values["tls-cert"] as string),
      key: readFileSync(values["tls-key"] as string),
      minVersion: "TLSv1.2",
      headersTimeout: REQUEST_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    handle,
  );
  server.listen(Number(values.port), values.host, () => {
    const address = server.address();
    // Under a primary, the primary reports the port once every worker listens.
    if (cluster.isPrimary && typeof address === "object" && address !== null)
      process.stderr.write(`${JSON.stringify({ event: "listening", port: address.port })}\n`);
  });
  const close = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", close);
  process.on("SIGINT", close);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "GET" && req.url === "/healthz") {
    reply(res, 200, { status: "ok" });
    return;
  }
  if (req.method !== "POST" || !(req.url === "/validate" || req.url?.startsWith("/validate?"))) {
    reply(res, 404, { error: "not found" });
    return;
  }
  if (Number(req.headers["content-length"] ?? 0) > BODY_LIMIT) {
    tooLarge(req, res);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_LIMIT) tooLarge(req, res);
    else chunks.push(chunk);
  });
  req.on("end", () => {
    if (!res.headersSent) answer(res, Buffer.concat(chunks).toString("utf8"));
  });
}

/** Parse the AdmissionReview and allow it: the work every webhook does before deciding anything. */
function answer(res: ServerResponse, body: string): void {
  let uid: unknown;
  try {
    uid = (JSON.parse(body) as { request?: { uid?: unknown } }).request?.uid;
  } catch {
    reply(res, 400, { error: "body is not JSON" });
    return;
  }
  if (typeof uid !== "string") reply(res, 400, { error: "request.uid: must be a string" });
  else
    reply(res, 200, {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid, allowed: true },
    });
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) {
    res.setHeader("connection", "close");
    reply(res, 413, { error: `body larger than ${BODY_LIMIT} bytes` });
  }
  req.pause();
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
