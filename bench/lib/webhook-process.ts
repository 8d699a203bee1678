/**
 * Run `belay webhook` as a real child process (bin/belay.js → dist/, with the launcher's node
 * flags), the way a container runs it: decision log on stdout (to a file here), operational
 * log on stderr. Also the self-signed serving certificate it needs.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

/** The node flags of the shipped launcher (its shebang line), so the bench runs what users run. */
export function launcherNodeFlags(): string[] {
  const shebang = readFileSync(join(root, "bin/belay.js"), "utf8").split("\n")[0] as string;
  return shebang.split(" ").filter((word) => word.startsWith("--"));
}

/**
 * A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost (common name `cn`), valid
 * one day, written to `dir` as tls.crt and tls.key (openssl CLI). The benchmarks and the
 * webhook tests share it.
 */
export function selfSignedCert(
  dir: string,
  cn = "127.0.0.1",
): { certFile: string; keyFile: string; certPem: string } {
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-days",
      "1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  return { certFile, keyFile, certPem: readFileSync(certFile, "utf8") };
}

/** A running webhook process. */
export interface WebhookProcess {
  pid: number;
  port: number;
  /** Where its decision log (stdout) goes. */
  decisionLogPath: string;
  /** What the `listening` log line said. */
  listening: { rules: number; policies: number };
  /** Operational log lines since it started listening, by level (warn: bad requests, evaluation errors). */
  logLevels(): Record<string, number>;
  /** SIGTERM, then wait for the exit (SIGKILL after 10 s). Never throws. */
  stop(): Promise<void>;
  /** SIGKILL now, synchronously (for exit hooks). Never throws. */
  kill(): void;
}

/**
 * Start `belay webhook <args> --port 0 --host 127.0.0.1` and wait until it listens. Rejects
 * with its stderr when it exits first or does not listen within 60 s. `command` replaces
 * `bin/belay.js webhook` with another server that takes the same flags and prints the same
 * `listening` line (the benchmark's floor, bench/floor-server.ts).
 */
export async function startWebhookProcess(
  dir: string,
  name: string,
  args: string[],
  command: string[] = [join(root, "bin/belay.js"), "webhook"],
): Promise<WebhookProcess> {
  const decisionLogPath = join(dir, `${name}.decisions.jsonl`);
  const out = openSync(decisionLogPath, "w");
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [...launcherNodeFlags(), ...command, ...args, "--port", "0", "--host", "127.0.0.1"],
      { stdio: ["ignore", out, "pipe"], cwd: root },
    );
  } finally {
    closeSync(out);
  }
  let stderr = "";
  // Everything written before it listens, for the error when it never does.
  let early = "";
  const levels: Record<string, number> = {};
  let started = false;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const listening = await new Promise<{ port: number; rules: number; policies: number }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`webhook ${name} did not listen within 60 s:\n${early}`)),
        60_000,
      );
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        stderr += chunk;
        if (!started) early += chunk;
        const lines = stderr.split("\n");
        // Keep the unfinished last line for the next chunk.
        stderr = lines.pop() as string;
        for (const line of lines) {
          let event: { event?: string; level?: string; port?: number; rules?: number; policies?: number };
          try {
            event = JSON.parse(line);
          } catch {
            continue;
          }
          if (started) levels[event.level ?? "none"] = (levels[event.level ?? "none"] ?? 0) + 1;
          else if (event.event === "listening") {
            started = true;
            clearTimeout(timer);
            resolve({ port: event.port ?? 0, rules: event.rules ?? 0, policies: event.policies ?? 0 });
          }
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`webhook ${name} exited (${signal ?? code}) before listening:\n${early}`));
      });
    },
  );
  return {
    pid: child.pid as number,
    port: listening.port,
    decisionLogPath,
    listening: { rules: listening.rules, policies: listening.policies },
    logLevels: () => ({ ...levels }),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
