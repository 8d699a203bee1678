/**
 * Builds the real `helm` and `kustomize` binaries the render tests run (test/render.test.ts),
 * from source with the Go toolchain (pure Go, `CGO_ENABLED=0`).
 *
 * Each binary is cached outside the repository in `$BELAY_TOOLS_CACHE/<name>-<version>/`
 * (default `~/.cache/belay/tools/<name>-<version>/`) and built only when missing. A build goes
 * to a staging directory that is renamed into place when complete, so concurrent callers and
 * killed builds never leave a half-written binary behind.
 *
 * Run directly (`node scripts/build-tools.ts`) to build ahead of time, or call `ensureTools()`.
 */

import { execFile, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** A tool built from a Go module: its binary name, module, main package and pinned version. */
export interface ToolSpec {
  name: "helm" | "kustomize";
  module: string;
  pkg: string;
  version: string;
  /** Linker flags besides `-s -w`: version stamps, as the tool's own release build sets them. */
  ldflags: readonly string[];
}

/**
 * The pinned tools. kustomize v5.8.2 is the newest release whose go.mod accepts Go 1.26
 * (v5.8.3 requires Go 1.27).
 */
export const tools: readonly ToolSpec[] = [
  {
    name: "helm",
    module: "helm.sh/helm/v3",
    pkg: "helm.sh/helm/v3/cmd/helm",
    version: "v3.22.0",
    // Without it `helm version` (and `.Capabilities.HelmVersion`) says "v3.22".
    ldflags: ["-X helm.sh/helm/v3/internal/version.version=v3.22.0"],
  },
  {
    name: "kustomize",
    module: "sigs.k8s.io/kustomize/kustomize/v5",
    pkg: "sigs.k8s.io/kustomize/kustomize/v5",
    version: "v5.8.2",
    // kustomize reads its version from the module's build info.
    ldflags: [],
  },
];

/** Paths of the built binaries. */
export interface ToolPaths {
  helm: string;
  kustomize: string;
}

/** Thrown when a tool must be built but no Go toolchain is on PATH. */
export class GoNotFoundError extends Error {
  constructor() {
    super(
      "go not found on PATH; install Go 1.26 or newer (https://go.dev/dl/) to build helm and kustomize " +
        "for the render tests",
    );
    this.name = "GoNotFoundError";
  }
}

/** The root of the tool cache: `$BELAY_TOOLS_CACHE`, else `~/.cache/belay/tools`. */
export function toolsCacheRoot(): string {
  const fromEnv = process.env.BELAY_TOOLS_CACHE;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache");
  return join(base, "belay", "tools");
}

/** Path of a tool's binary in the cache (it may not exist yet). */
export function toolPath(tool: ToolSpec): string {
  return join(toolsCacheRoot(), `${tool.name}-${tool.version}`, tool.name);
}

/** The cached binaries when all of them are already built, else `undefined`. No build, no Go needed. */
export function cachedTools(): ToolPaths | undefined {
  const paths = pathsOf();
  return Object.values(paths).every(existsSync) ? paths : undefined;
}

/** Returns the Go toolchain version (`go1.26.8`), or `undefined` when `go` is not on PATH. */
export function goVersion(): string | undefined {
  const result = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.trim();
}

function pathsOf(): ToolPaths {
  const find = (name: ToolSpec["name"]): string => toolPath(tools.find((t) => t.name === name) as ToolSpec);
  return { helm: find("helm"), kustomize: find("kustomize") };
}

/** Environment of every `go` command: static binaries, no workspace of the caller. */
function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: "0", GOWORK: "off" };
}

function ldflags(tool: ToolSpec): string {
  return `-ldflags=${["-s", "-w", ...tool.ldflags].join(" ")}`;
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}

/** Outcome of one `go` command: exit code and the last lines of its stderr. */
interface GoRun {
  code: number | null;
  tail: string[];
}

/**
 * Runs `go <args>`, streaming stderr: `-v` package lines and module downloads are counted (a
 * progress line every 30 s), anything else is logged. Never rejects for a non-zero exit.
 */
async function runGo(
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; log: (line: string) => void; what: string },
): Promise<GoRun> {
  const child = spawn("go", args, {
    cwd: options.cwd ?? tmpdir(),
    env: options.env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const started = Date.now();
  let compiled = 0;
  let downloaded = 0;
  let tail: string[] = [];
  let pending = "";
  child.stderr.setEncoding("utf8");
  const onLine = (line: string): void => {
    // `go install -v` names each package as it compiles; anything else is a message.
    if (/^[\w.-]+(\/[\w.~+-]+)*$/.test(line)) compiled++;
    else if (line.startsWith("go: downloading ")) {
      if (downloaded++ === 0) options.log("  downloading modules missing from the module cache");
    } else if (line.trim() !== "") options.log(`  ${line}`);
    tail = [...tail.slice(-29), line];
  };
  child.stderr.on("data", (chunk: string) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  const timer = setInterval(() => {
    options.log(
      `  still building ${options.what}: ${downloaded} modules downloaded, ${compiled} packages compiled, ` +
        `${formatDuration(Date.now() - started)} elapsed`,
    );
  }, 30_000);
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", resolveExit);
  }).finally(() => clearInterval(timer));
  if (pending !== "") onLine(pending);
  return { code, tail };
}

/** `go install` refuses a module whose go.mod has replace directives; this is its message. */
const REPLACE_REFUSAL = /replace directives|exclude directives/;

/**
 * Builds one tool into `outDir` with `GOBIN=outDir go install pkg@version`. When go refuses
 * (replace directives in the tool's go.mod), builds it from a throwaway module that requires
 * the tool's module instead.
 */
async function buildTool(tool: ToolSpec, outDir: string, log: (line: string) => void): Promise<void> {
  const env = { ...goEnv(), GOBIN: outDir };
  const what = `${tool.name} ${tool.version}`;
  const install = await runGo(["install", "-v", "-trimpath", ldflags(tool), `${tool.pkg}@${tool.version}`], {
    env,
    log,
    what,
  });
  if (install.code === 0) return;
  if (!install.tail.some((line) => REPLACE_REFUSAL.test(line))) {
    throw new Error(`go install of ${what} failed (exit ${install.code}):\n${install.tail.join("\n")}`);
  }
  log(`  go install refused ${tool.module}@${tool.version}; building it from a module of our own`);
  const dir = await mkdtemp(join(tmpdir(), `belay-${tool.name}-`));
  try {
    await writeFile(join(dir, "go.mod"), "module belay.local/tools\n");
    // `go get` of the package, not just the module, records the checksums of everything it imports.
    const get = await runGo(["get", `${tool.pkg}@${tool.version}`], { cwd: dir, env, log, what });
    if (get.code !== 0) {
      throw new Error(
        `go get ${tool.pkg}@${tool.version} failed (exit ${get.code}):\n${get.tail.join("\n")}`,
      );
    }
    const build = await runGo(
      ["build", "-v", "-trimpath", ldflags(tool), "-o", join(outDir, tool.name), tool.pkg],
      { cwd: dir, env, log, what },
    );
    if (build.code !== 0) {
      throw new Error(`go build of ${what} failed (exit ${build.code}):\n${build.tail.join("\n")}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first line of `go version`-like output of a built tool, for the log. */
function versionLine(binary: string, args: string[]): Promise<string> {
  return new Promise((resolveLine) => {
    execFile(binary, args, (error, stdout) =>
      resolveLine(error === null ? (stdout.trim().split("\n")[0] ?? "") : "(did not run)"),
    );
  });
}

/** Builds `tool` into its cache directory unless it is already there. */
async function ensureTool(
  tool: ToolSpec,
  go: string | undefined,
  log: (line: string) => void,
): Promise<string> {
  const binary = toolPath(tool);
  if (existsSync(binary)) return binary;
  if (go === undefined) throw new GoNotFoundError();
  const root = toolsCacheRoot();
  const dir = join(root, `${tool.name}-${tool.version}`);
  await mkdir(root, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  log(`building ${tool.name} ${tool.version} (${tool.pkg}) with ${go} into ${dir}`);
  const started = Date.now();
  try {
    await buildTool(tool, staging, log);
    try {
      await rename(staging, dir);
    } catch (error) {
      // Another process finished the same build first: use its binary.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !existsSync(binary)) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const version = await versionLine(binary, tool.name === "helm" ? ["version", "--short"] : ["version"]);
  log(`built ${tool.name} ${tool.version} in ${formatDuration(Date.now() - started)}: ${version}`);
  return binary;
}

/**
 * Returns the paths of `helm` and `kustomize`, building them first (one after the other) when
 * they are not cached. Progress and build times go to `log` (default: stderr).
 *
 * Throws {@link GoNotFoundError} when a build is needed and `go` is not on PATH, and an `Error`
 * with the tail of go's output when a build fails.
 *
 * @example
 * const { helm, kustomize } = await ensureTools();
 */
export async function ensureTools(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<ToolPaths> {
  const cached = cachedTools();
  if (cached !== undefined) return cached;
  const go = goVersion();
  const paths: Partial<ToolPaths> = {};
  for (const tool of tools) paths[tool.name] = await ensureTool(tool, go, log);
  return paths as ToolPaths;
}

if (import.meta.main) {
  ensureTools().then(
    (paths) => {
      process.stdout.write(`${JSON.stringify(paths, null, 2)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
