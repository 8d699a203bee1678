import { main } from "../src/cli/main.ts";

/** The result of running the CLI in-process. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `belay ARGS` in-process with captured output. */
export async function runCli(
  args: string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv; isTTY?: boolean; cwd?: string } = {},
): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    readStdin: async () => options.stdin ?? "",
    isTTY: options.isTTY ?? false,
    env: options.env ?? { PATH: process.env.PATH },
    cwd: options.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}
