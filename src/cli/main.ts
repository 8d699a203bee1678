/**
 * The belay command line. `main` is the process boundary: it never throws, and returns the
 * exit code (0 clean, 1 findings at or above the threshold, 2 usage or input error).
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { registerAudit } from "./audit.ts";
import { registerController } from "./controller.ts";
import { registerEval } from "./eval.ts";
import { registerExport } from "./export.ts";
import { registerInstall } from "./install.ts";
import { type CliIO, EXIT, processIO, UsageError } from "./io.ts";
import { registerPolicyTest } from "./policy-test.ts";
import { registerRbac } from "./rbac.ts";
import { registerRules } from "./rules.ts";
import { registerScan } from "./scan.ts";
import { registerWebhook } from "./webhook.ts";

/** Build the program with every command; exposed for docs generation. */
export function buildProgram(io: CliIO, state: { exitCode: number }): Command {
  const program = new Command("belay")
    .description(
      "Kubernetes security as code: scan manifests against Pod Security Standards and hardening rules",
    )
    .version(VERSION, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  registerScan(program, io, state);
  registerRules(program, io, state);
  registerEval(program, io, state);
  registerPolicyTest(program, io, state);
  registerExport(program, io, state);
  registerWebhook(program, io, state);
  registerInstall(program, io, state);
  registerAudit(program, io, state);
  registerController(program, io, state);
  registerRbac(program, io, state);
  return program;
}

/** Run the CLI with `argv` (without node and script). Never throws. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const state = { exitCode: EXIT.clean as number };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: "user" });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; anything else commander rejects is a usage error (already printed).
      return e.exitCode === 0 ? EXIT.clean : EXIT.usage;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`belay: ${e.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`belay: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.usage;
  }
}
