/** The process boundary a command talks to; tests pass their own to run commands in-process. */
export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  readStdin(): Promise<string>;
  /** Whether stdout is a terminal (colour and table defaults). */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The real process's IO. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    isTTY: Boolean(process.stdout.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Exit codes, documented in the README. */
export const EXIT = { clean: 0, findings: 1, usage: 2 } as const;

/** Raised inside a command to stop with a usage/input error; caught by `main`. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Split repeatable, comma-separated option values: `--rules a,b --rules c` → [a, b, c]. */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Resolves with the first SIGTERM or SIGINT the process receives (for long-running commands). */
export function waitForSignal(): Promise<string> {
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
