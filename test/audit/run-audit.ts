/**
 * Run `belay audit ARGS` in-process with captured output. `belay audit` is registered in
 * the program by src/cli/main.ts; until then (and independently of it) this drives the
 * command through its own commander program, exactly as main does.
 */
import { Command, CommanderError } from "commander";
import { registerAudit } from "../../src/cli/audit.ts";
import { UsageError } from "../../src/cli/io.ts";
import type { RunResult } from "../helpers.ts";

/**
 * `belay audit ARGS` with `env` (KUBECONFIG, PATH); `stderrTTY` makes stderr look like a
 * terminal (progress output). Never throws.
 */
export async function runAudit(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { stderrTTY?: boolean } = {},
): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t), isTTY: options.stderrTTY === true },
    readStdin: async () => "",
    isTTY: false,
    env,
    cwd: process.cwd(),
  };
  const state = { exitCode: 0 };
  const program = new Command("belay")
    .exitOverride()
    .configureOutput({ writeOut: (t) => (stdout += t), writeErr: (t) => (stderr += t) });
  registerAudit(program, io, state);
  try {
    await program.parseAsync(["audit", ...args], { from: "user" });
    return { code: state.exitCode, stdout, stderr };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, stdout, stderr };
    if (e instanceof UsageError) return { code: 2, stdout, stderr: `${stderr}belay: ${e.message}\n` };
    throw e;
  }
}
