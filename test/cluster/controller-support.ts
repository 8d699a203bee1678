/**
 * Shared pieces of the `belay controller` cluster tests: install the report CRDs, run the
 * controller in-process through its real command (flags, metrics server, leader election),
 * read its metrics over HTTP, and wait for conditions.
 */
import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { Command, CommanderError } from "commander";
import { load } from "js-yaml";
import { type ControllerRuntime, registerController } from "../../src/cli/controller.ts";
import { UsageError } from "../../src/cli/io.ts";
import type { RawClient } from "./pss-support.ts";

/** Apply every CRD in deploy/crds/ (both report APIs) and wait until each is established. */
export async function installReportCrds(client: RawClient): Promise<void> {
  const dir = new URL("../../deploy/crds/", import.meta.url);
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort()) {
    const crd = load(await readFile(new URL(file, dir), "utf8")) as { metadata: { name: string } };
    const res = await client.send(
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      JSON.stringify(crd),
    );
    if (res.status >= 300 && res.status !== 409) throw new Error(`CRD ${file}: ${res.status} ${res.body}`);
    await waitUntil(`${crd.metadata.name} is established`, 30_000, async () => {
      const got = await client.send(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      const conditions = (
        JSON.parse(got.body) as { status?: { conditions?: { type: string; status: string }[] } }
      ).status?.conditions;
      return conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
    });
  }
}

/** Poll `check` every 100 ms until true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A controller running in this process. */
export interface RunningController {
  port: number;
  /** Everything it logged so far (JSON lines). */
  log(): string;
  /** The sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** The HTTP status of `/readyz`. */
  readyz(): Promise<number>;
  /** SIGTERM-like stop; resolves with the exit code. */
  stop(): Promise<number>;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Start `belay controller ARGS` in-process with `KUBECONFIG=kubeconfig`, the metrics server
 * on a free loopback port. Resolves once it listens; rejects with the usage error if it
 * refuses to start.
 */
export async function startController(
  args: string[],
  kubeconfig: string,
  runtime: ControllerRuntime = {},
): Promise<RunningController> {
  let stderr = "";
  let stopNow: (signal: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => {
    stopNow = resolve;
  });
  let listening: (port: number) => void = () => {};
  const listened = new Promise<number>((resolve) => {
    listening = resolve;
  });
  const io = {
    stdout: { write: () => true },
    stderr: {
      write: (t: string) => {
        stderr += t;
        return true;
      },
    },
    readStdin: async () => "",
    isTTY: false,
    env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig },
    cwd: process.cwd(),
  };
  const state = { exitCode: -1 };
  const program = new Command("belay").exitOverride().configureOutput({
    writeOut: () => {},
    writeErr: (t) => {
      stderr += t;
    },
  });
  registerController(program, io, state, { ...runtime, stopSignal, onListening: (p) => listening(p) });
  const done = program
    .parseAsync(["controller", "--metrics-port", "0", ...args], { from: "user" })
    .then(() => state.exitCode)
    .catch((e: unknown) => {
      if (e instanceof UsageError) throw new Error(`controller refused to start: ${e.message}`);
      if (e instanceof CommanderError) throw new Error(`controller refused to start: ${stderr}`);
      throw e;
    });
  const port = await Promise.race([
    listened,
    done.then(() => Promise.reject(new Error(`controller ended: ${stderr}`))),
  ]);
  return {
    port,
    log: () => stderr,
    async metric(name, labels = {}) {
      const { body } = await httpGet(port, "/metrics");
      let sum = 0;
      for (const line of body.split("\n")) {
        if (line.startsWith("#")) continue;
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const have = Object.fromEntries(
          [...(match[3] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
        );
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[4]);
      }
      return sum;
    },
    readyz: async () => (await httpGet(port, "/readyz")).status,
    async stop() {
      stopNow("SIGTERM");
      return done;
    },
  };
}
