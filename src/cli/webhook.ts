/**
 * `belay webhook`: the validating admission webhook (HTTPS, AdmissionReview v1). Reads the
 * certificate, key and policies once, refuses to start listing every problem, then serves
 * until SIGTERM or SIGINT, draining in-flight requests.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  createWebhookServer,
  DEFAULT_EXEMPT_NAMESPACES,
  FAILURE_MODES,
  type LineWriter,
} from "../admission/server.ts";
import { loadPolicySet, type PolicySet } from "../engine/policies.ts";
import { PROFILES } from "../rules/index.ts";
import { loadPaths } from "../sources/files.ts";
import { type CliIO, collect, EXIT, splitList, UsageError } from "./io.ts";

/** Parsed `webhook` flags. */
export interface WebhookFlags {
  tlsCert?: string;
  tlsKey?: string;
  port: string;
  host: string;
  policy?: string[];
  profile?: string[];
  pssVersion: string;
  exemptNamespaces?: string;
  failureMode: string;
  decisionLog?: string;
}

/** How the command waits for its stop signal; tests pass their own. */
export interface WebhookRuntime {
  /** Resolves when the server should shut down. Default: the first SIGTERM or SIGINT. */
  stopSignal?: Promise<string>;
  /** Called once the server listens. */
  onListening?: (port: number) => void;
}

/** Register `webhook` on the program; the action sets `state.exitCode`. */
export function registerWebhook(
  program: Command,
  io: CliIO,
  state: { exitCode: number },
  runtime: WebhookRuntime = {},
): void {
  program
    .command("webhook")
    .description("Run the validating admission webhook (HTTPS, AdmissionReview admission.k8s.io/v1)")
    .option("--tls-cert <file>", "PEM serving certificate (chain)")
    .option("--tls-key <file>", "PEM private key")
    .option("--port <port>", "HTTPS port", "8443")
    .option("--host <address>", "address to listen on", "0.0.0.0")
    .option(
      "--policy <path>",
      "ValidatingAdmissionPolicy + binding YAML (file or directory, with param objects) to enforce beside the rules (repeatable)",
      collect,
    )
    .option("--profile <profile>", `rule set: ${PROFILES.join(", ")} (repeatable; default all)`, collect)
    .option("--pss-version <version>", "Pod Security Standards version: v1.0 … v1.N or latest", "latest")
    .option(
      "--exempt-namespaces <names>",
      `namespaces admitted without evaluation, comma-separated; replaces the default (${DEFAULT_EXEMPT_NAMESPACES.join(",")})`,
    )
    .option(
      "--failure-mode <mode>",
      `when a request's deadline passes before belay decides: ${FAILURE_MODES.join(" or ")}`,
      "deny",
    )
    .option("--decision-log <file>", "append one JSON line per decision to FILE (default stdout)")
    .action(async (flags: WebhookFlags) => {
      state.exitCode = await runWebhook(flags, io, runtime);
    });
}

/** Run the webhook until stopped. Returns 0 after a clean shutdown; throws UsageError listing every problem. */
export async function runWebhook(
  flags: WebhookFlags,
  io: CliIO,
  runtime: WebhookRuntime = {},
): Promise<number> {
  const problems: string[] = [];
  const readPem = async (file: string | undefined, flag: string): Promise<string> => {
    if (file === undefined) {
      problems.push(`--${flag} is required`);
      return "";
    }
    try {
      return await readFile(file, "utf8");
    } catch (e) {
      problems.push(`--${flag}: cannot read ${file}: ${(e as Error).message}`);
      return "";
    }
  };
  const cert = await readPem(flags.tlsCert, "tls-cert");
  const key = await readPem(flags.tlsKey, "tls-key");
  const port = /^\d+$/.test(flags.port) ? Number(flags.port) : Number.NaN;
  if (Number.isNaN(port)) problems.push(`--port: "${flags.port}" is not a port number`);

  let policies: PolicySet | undefined;
  if (flags.policy?.length) {
    const sources = await loadPaths(flags.policy, { readStdin: io.readStdin, cwd: io.cwd });
    const loaded = loadPolicySet(sources.resources);
    for (const e of [...sources.errors, ...loaded.errors])
      problems.push(`--policy: ${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`);
    if (loaded.set.policies.length === 0 && loaded.errors.length === 0)
      problems.push(`--policy: no ValidatingAdmissionPolicy found in ${flags.policy.join(", ")}`);
    policies = loaded.set;
  }

  let decisionFile: WriteStream | undefined;
  if (flags.decisionLog !== undefined) {
    try {
      await (await open(flags.decisionLog, "a")).close();
      decisionFile = createWriteStream(flags.decisionLog, { flags: "a" });
    } catch (e) {
      problems.push(`--decision-log: cannot open ${flags.decisionLog}: ${(e as Error).message}`);
    }
  }
  const decisionLog: LineWriter = decisionFile ?? io.stdout;

  const created = createWebhookServer({
    tlsCert: cert,
    tlsKey: key,
    port: Number.isNaN(port) ? 8443 : port,
    host: flags.host,
    profiles: splitList(flags.profile),
    pssVersion: flags.pssVersion,
    ...(flags.exemptNamespaces !== undefined
      ? { exemptNamespaces: splitList([flags.exemptNamespaces]) }
      : {}),
    failureMode: flags.failureMode,
    ...(policies ? { policies } : {}),
    decisionLog,
    log: io.stderr,
  });
  if (!created.ok) {
    // A missing cert/key is already reported; do not repeat it as an unusable pair.
    const skipTls = cert === "" || key === "";
    for (const detail of created.error.details ?? []) {
      if (!(skipTls && detail.startsWith("tls-"))) problems.push(detail);
    }
  }
  if (problems.length > 0 || !created.ok) {
    decisionFile?.end();
    throw new UsageError(`webhook not started:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  const server = created.value;
  try {
    const { port: bound } = await server.listen();
    runtime.onListening?.(bound);
  } catch (e) {
    decisionFile?.end();
    throw new UsageError(
      `webhook not started: cannot listen on ${flags.host}:${port}: ${(e as Error).message}`,
    );
  }
  const signal = await (runtime.stopSignal ?? waitForSignal());
  io.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "info", event: `received ${signal}` })}\n`,
  );
  await server.close();
  if (decisionFile) await new Promise<void>((resolve) => decisionFile.end(resolve));
  return EXIT.clean;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const handler = (signal: string) => {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
      resolve(signal);
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  });
}
