/**
 * `belay webhook --workers N` in real processes (bin/belay.js → dist/): a primary that forks
 * workers on one port, answers as a single process would from every worker, sums their
 * metrics, replaces a killed worker, stops all of them on SIGTERM, and refuses bad setups
 * (exit 2, nothing forked, the same message as without workers). Needs `npm run build`.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookServer } from "../../src/admission/server.ts";
import { restartDelay, workerExecArgv } from "../../src/admission/workers.ts";
import { runCli } from "../helpers.ts";
import { lines, makeCert, pod, review, send } from "./support.ts";

const root = new URL("../..", import.meta.url).pathname;
const node = `${root}node_modules/.bin/node`;
const cert = makeCert();

/** A running `belay webhook`: its JSON stderr lines as they come, and its exit. */
function start(args: string[]) {
  const child = spawn(node, [`${root}bin/belay.js`, "webhook", ...args], {
    cwd: root,
    env: { PATH: process.env.PATH },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: Record<string, unknown>[] = [];
  let stderr = "";
  let stdout = "";
  let partial = "";
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
    const complete = (partial + c.toString("utf8")).split("\n");
    partial = complete.pop() ?? "";
    for (const line of complete)
      if (line.startsWith("{")) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    events,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    /** The first event matching `match` (waits for it). */
    event: (match: (e: Record<string, unknown>) => boolean) =>
      until(() => events.find(match)) as Promise<Record<string, unknown>>,
  };
}

/** Run to completion (for commands that must stop by themselves). */
async function run(args: string[]) {
  const started = start(args);
  const { code } = await started.exited;
  return { code, stderr: started.stderr(), events: started.events };
}

async function until<T>(value: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const found = value();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const event = (name: string) => (e: Record<string, unknown>) => e.event === name;

/** The sum of a metric's samples in a Prometheus text body. */
function total(metrics: string, name: string): number {
  return metrics
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

/** AdmissionReviews alternating a compliant pod (allowed) and a privileged one (denied). */
function reviews(count: number, prefix: string) {
  return Array.from({ length: count }, (_, i) =>
    review(
      "CREATE",
      i % 2 === 0 ? pod(`ok-${i}`) : pod(`bad-${i}`, { securityContext: { privileged: true } }),
      { uid: `${prefix}-${i}` },
    ),
  );
}

/** What one in-process server (the single-process webhook with the command's defaults) answers. */
async function singleProcessAnswers(bodies: readonly object[]): Promise<string[]> {
  const created = createWebhookServer({
    tlsCert: cert.cert,
    tlsKey: cert.key,
    port: 0,
    profiles: [],
    rules: [],
    skipRules: [],
    exceptions: [],
    decisionLog: lines(),
    log: lines(),
  });
  if (!created.ok) throw new Error(created.error.message);
  const answers: string[] = [];
  for (const body of bodies)
    answers.push(
      (
        await created.value.inject({
          method: "POST",
          url: "/validate",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      ).body,
    );
  return answers;
}

/** Send `bodies` over `agent`'s connections, `agent.maxSockets` at a time; the answers in order. */
async function post(port: number, agent: Agent, bodies: readonly object[]) {
  const replies = [];
  for (let i = 0; i < bodies.length; i += agent.maxSockets) {
    const batch = bodies.slice(i, i + agent.maxSockets);
    replies.push(
      ...(await Promise.all(
        batch.map((b) =>
          send(port, cert.cert, "POST", "/validate", JSON.stringify(b), "application/json", agent),
        ),
      )),
    );
  }
  return replies;
}

describe("belay webhook --workers 2", () => {
  const decisionLog = join(cert.dir, "decisions.jsonl");
  let webhook: ReturnType<typeof start>;
  let port = 0;
  let pids: number[] = [];
  const decisions = () =>
    readFileSync(decisionLog, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { worker?: number; uid: string; verdict: string });

  beforeAll(async () => {
    webhook = start([
      ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--host", "127.0.0.1", "--port", "0"],
      ...["--decision-log", decisionLog, "--workers", "2"],
    ]);
    const started = await webhook.event(event("workers started"));
    port = started.port as number;
    pids = started.pids as number[];
  });

  afterAll(() => {
    // Only if a test failed half-way: nothing of ours may outlive the file.
    for (const pid of [webhook.child.pid, ...pids])
      if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
  });

  it("answers every request as one process would, from both workers, and /metrics sums them", async () => {
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(webhook.child.pid);
    // Workers collect garbage on their own thread; the primary keeps the launcher's flags.
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    for (const pid of pids) expect(argv(pid)).toContain("--single-threaded-gc");
    expect(argv(webhook.child.pid as number)).not.toContain("--single-threaded-gc");
    const bodies = reviews(40, "a");
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const replies = await post(port, agent, bodies);
    agent.destroy();
    expect(replies.map((r) => r.status)).toEqual(bodies.map(() => 200));
    expect(replies.map((r) => r.body)).toEqual(await singleProcessAnswers(bodies));
    expect(replies.filter((r) => JSON.parse(r.body).response.allowed === false)).toHaveLength(20);

    const logged = await until(() => (decisions().length === 40 ? decisions() : undefined));
    expect(logged.map((d) => d.uid).sort()).toEqual(bodies.map((b) => b.request.uid).sort());
    expect(new Set(logged.map((d) => d.worker))).toEqual(new Set([1, 2]));
    // Each worker's own lines on stderr say which worker wrote them.
    expect(webhook.events.filter(event("listening")).map((e) => e.worker)).toEqual(
      expect.arrayContaining([1, 2]),
    );

    const metrics = await send(port, cert.cert, "GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers["content-type"]).toContain("text/plain");
    expect(total(metrics.body, "belay_webhook_decisions_total")).toBe(40);
    expect(metrics.body).toContain('belay_webhook_decisions_total{verdict="deny",operation="CREATE"} 20\n');
    expect(metrics.body).toContain('belay_webhook_decisions_total{verdict="allow",operation="CREATE"} 20\n');
    expect(total(metrics.body, "belay_webhook_request_duration_seconds_count")).toBe(40);
    // The sums are the same whichever worker answers the scrape.
    const again = await send(port, cert.cert, "GET", "/metrics");
    expect(total(again.body, "belay_webhook_decisions_total")).toBe(40);
  });

  it("replaces a worker killed with SIGKILL and keeps answering", async () => {
    const [victim, survivor] = pids as [number, number];
    process.kill(victim, "SIGKILL");
    const exited = await webhook.event((e) => e.event === "worker exited" && e.pid === victim);
    expect(exited).toMatchObject({
      level: "error",
      worker: 1,
      code: null,
      signal: "SIGKILL",
      restartInMs: 100,
    });
    const replaced = await webhook.event(event("worker started"));
    expect(replaced).toMatchObject({ worker: 3, replaces: 1 });
    const replacement = replaced.pid as number;
    expect(alive(replacement)).toBe(true);
    expect(alive(victim)).toBe(false);
    pids = [survivor, replacement];

    const bodies = reviews(8, "b");
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const replies = await post(port, agent, bodies);
    agent.destroy();
    expect(replies.map((r) => r.body)).toEqual(await singleProcessAnswers(bodies));
    const served = await until(() => {
      const lines = decisions().filter((d) => d.uid.startsWith("b-"));
      return lines.length === 8 ? lines : undefined;
    });
    expect(served.some((d) => d.worker === 3)).toBe(true);
    expect(webhook.events.filter(event("worker exited"))).toHaveLength(1);
  });

  it("stops every worker on SIGTERM and exits 0", async () => {
    webhook.child.kill("SIGTERM");
    expect(await webhook.exited).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(alive(pid)).toBe(false);
    const stopped = webhook.events.filter((e) => e.event === "stopped").map((e) => e.worker);
    expect(stopped.sort()).toEqual([2, 3]);
    expect(webhook.events.at(-1)).toMatchObject({ event: "workers stopped" });
    expect(webhook.stdout()).toBe("");
  });
});

describe("belay webhook --workers: refusing to start", () => {
  it("reports an invalid setup exactly as without workers, and forks nothing", async () => {
    const policy = join(cert.dir, "bad-policy.yaml");
    writeFileSync(
      policy,
      [
        "apiVersion: admissionregistration.k8s.io/v1",
        "kind: ValidatingAdmissionPolicy",
        "metadata: {name: bad}",
        "spec:",
        '  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"]}]}',
        '  validations: [{expression: "object.spec.("}]',
        "",
      ].join("\n"),
    );
    const args = ["--tls-cert", cert.certFile, "--policy", policy];
    const [single, several] = await Promise.all([run(args), run([...args, "--workers", "2"])]);
    expect(several.code).toBe(2);
    expect(several.stderr).toBe(single.stderr);
    expect(several.stderr.split("\n").slice(0, 2)).toEqual([
      "belay: webhook not started:",
      "  --tls-key is required",
    ]);
    expect(several.stderr).toContain(
      `  policies: ${policy}:6: ValidatingAdmissionPolicy "bad": spec.validations[0].expression: compilation failed:`,
    );
    // No JSON line at all: no worker started, the primary never supervised anything.
    expect(several.events).toEqual([]);
  });

  it("rejects a bad worker count from the flag or the file", async () => {
    const tls = ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile];
    for (const value of ["0", "x", "65", "1.5"]) {
      const result = await runCli(["webhook", ...tls, "--workers", value]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `belay: webhook not started:\n  --workers: must be an integer from 1 to 64 or auto, got "${value}"\n`,
      );
    }
    const config = join(cert.dir, "workers-100.yaml");
    writeFileSync(config, "apiVersion: belay.dev/v1alpha1\nkind: WebhookConfig\nworkers: 100\n");
    const result = await runCli(["webhook", ...tls, "--config", config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `belay: webhook not started:\n  ${config}: workers: must be an integer from 1 to 64 or auto, got 100\n`,
    );
    const stdin = await runCli(["webhook", ...tls, "--workers", "2", "--policy", "-"], {
      stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    });
    expect(stdin.stderr).toContain(
      "  --workers: several workers cannot share policies read from stdin (--policy -); give a file\n",
    );
  });

  it("exits 2 with the reason when the port is taken, without restarting workers", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    // Two workers from the file; `--workers 1` on the command line overrides it.
    const config = join(cert.dir, "workers-2.yaml");
    writeFileSync(config, "apiVersion: belay.dev/v1alpha1\nkind: WebhookConfig\nworkers: 2\n");
    const args = ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--host", "127.0.0.1"];
    const [several, single] = await Promise.all([
      run([...args, "--port", String(port), "--config", config]),
      run([...args, "--port", String(port), "--config", config, "--workers", "1"]),
    ]);
    taken.close();
    const reason = `webhook not started: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`;
    expect(single).toEqual({ code: 2, stderr: `belay: ${reason}\n`, events: [] });
    expect(several.code).toBe(2);
    expect(several.stderr.endsWith(`\nbelay: ${reason}\n`)).toBe(true);
    expect(several.events.filter(event("worker failed to start"))).toEqual([
      expect.objectContaining({ level: "error", code: 2, reason }),
    ]);
    expect(several.events.map((e) => e.event)).not.toContain("worker started");
    expect(several.events.map((e) => e.event)).not.toContain("listening");
  });
});

describe("workerExecArgv", () => {
  it("adds --single-threaded-gc to the primary's flags once", () => {
    expect(workerExecArgv(["--max-semi-space-size=32"])).toEqual([
      "--max-semi-space-size=32",
      "--single-threaded-gc",
    ]);
    expect(workerExecArgv(["--single-threaded-gc"])).toEqual(["--single-threaded-gc"]);
  });
});

describe("restartDelay", () => {
  it("doubles from 100 ms per recent crash, capped at 10 s", () => {
    expect([1, 2, 3, 4, 8, 50].map(restartDelay)).toEqual([100, 200, 400, 800, 10_000, 10_000]);
  });
});
