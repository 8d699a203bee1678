/**
 * Builds the Kubernetes binaries the cluster test harness runs: `kube-apiserver`,
 * `kube-controller-manager` and `etcd`, from the Go module pinned in
 * `test/cluster/kube/go.mod`.
 *
 * The binaries are cached outside the repository in `$BELAY_KUBE_CACHE/<k8s-version>/`
 * (default `~/.cache/belay/kube/<k8s-version>/`) and built only when missing or when the
 * pinned modules or the build recipe changed since they were built. A cold build takes
 * minutes (see docs/testing.md), so progress is printed while it runs.
 *
 * Run directly (`node scripts/build-kube.ts`) to build ahead of time, or call
 * `ensureKubeBinaries()`.
 */

import { execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The Go module that pins Kubernetes and etcd. */
export const kubeModuleDir: string = join(repoRoot, "test", "cluster", "kube");

/** Paths of the built binaries and the versions they were built from. */
export interface KubeBinaries {
  apiserver: string;
  controllerManager: string;
  etcd: string;
  /** The `k8s.io/kubernetes` version, e.g. `v1.37.2`. */
  version: string;
  /** The `go.etcd.io/etcd/server/v3` version, e.g. `v3.7.0`. */
  etcdVersion: string;
}

/** Options for {@link ensureKubeBinaries}. */
export interface EnsureKubeBinariesOptions {
  /** Receives progress lines; defaults to writing them to stderr. */
  log?: (line: string) => void;
  /** Build even when cached binaries exist. */
  force?: boolean;
}

/** The Go packages to build, each with the file name of its binary. */
const targets = [
  { name: "kube-apiserver", pkg: "k8s.io/kubernetes/cmd/kube-apiserver" },
  { name: "kube-controller-manager", pkg: "k8s.io/kubernetes/cmd/kube-controller-manager" },
  // The etcd server module's root package is etcd's `main`.
  { name: "etcd", pkg: "go.etcd.io/etcd/server/v3" },
] as const;

/** Thrown when the binaries must be built but no Go toolchain is on PATH. */
export class GoNotFoundError extends Error {
  constructor() {
    super(
      "go not found on PATH; install Go 1.26 or newer (https://go.dev/dl/) to build kube-apiserver, " +
        "kube-controller-manager and etcd for the cluster tests",
    );
    this.name = "GoNotFoundError";
  }
}

/** The root of the binary cache: `$BELAY_KUBE_CACHE`, else `~/.cache/belay/kube`. */
export function kubeCacheRoot(): string {
  const fromEnv = process.env.BELAY_KUBE_CACHE;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache");
  return join(base, "belay", "kube");
}

/** Returns the Go toolchain version (`go1.26.8`), or `undefined` when `go` is not on PATH. */
export function goVersion(): string | undefined {
  const result = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/** Reads the pinned Kubernetes and etcd versions from `test/cluster/kube/go.mod`. */
export async function pinnedVersions(): Promise<{ version: string; etcdVersion: string }> {
  const goMod = await readFile(join(kubeModuleDir, "go.mod"), "utf8");
  const find = (module: string): string => {
    const match = new RegExp(`^\\s*${module.replaceAll(".", "\\.")}\\s+(v\\S+)`, "m").exec(goMod);
    if (match?.[1] === undefined) throw new Error(`test/cluster/kube/go.mod does not require ${module}`);
    return match[1];
  };
  return { version: find("k8s.io/kubernetes"), etcdVersion: find("go.etcd.io/etcd/server/v3") };
}

interface BuildInfo {
  version: string;
  etcdVersion: string;
  /** {@link buildKey} of the build. */
  key: string;
  go: string;
  seconds: number;
}

/**
 * Environment of every `go` command: no workspace, static binaries, and go.mod/go.sum
 * used as committed (a missing checksum is an error, not a silent edit of the repo).
 */
const goEnv = { GOWORK: "off", CGO_ENABLED: "0" };
const goFlags = "-mod=readonly";

function goCommandEnv(): NodeJS.ProcessEnv {
  const inherited = process.env.GOFLAGS?.trim() ?? "";
  return { ...process.env, ...goEnv, GOFLAGS: inherited === "" ? goFlags : `${inherited} ${goFlags}` };
}

/**
 * Version variables stamped into the Kubernetes binaries, as `hack/lib/version.sh` does;
 * without them `/version` reports `v0.0.0-master`. The commit is not known from a module.
 */
function versionLdflags(version: string, buildDate: string): string[] {
  const [, major = "", minor = ""] = /^v(\d+)\.(\d+)/.exec(version) ?? [];
  const vars = {
    gitVersion: version,
    gitMajor: major,
    gitMinor: minor,
    gitTreeState: "clean",
    gitCommit: "",
    buildDate,
  };
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) =>
    Object.entries(vars).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
}

/**
 * The cache key of a build: the pinned modules and the build recipe. Cached binaries with
 * another key are rebuilt.
 */
async function buildKey(): Promise<string> {
  const goSum = await readFile(join(kubeModuleDir, "go.sum"));
  const goMod = await readFile(join(kubeModuleDir, "go.mod"));
  const recipe = JSON.stringify({ goEnv, goFlags, targets, ldflags: versionLdflags("v0.0", "date") });
  return createHash("sha256").update(goMod).update(goSum).update(recipe).digest("hex");
}

function binariesIn(dir: string, versions: { version: string; etcdVersion: string }): KubeBinaries {
  return {
    apiserver: join(dir, "kube-apiserver"),
    controllerManager: join(dir, "kube-controller-manager"),
    etcd: join(dir, "etcd"),
    ...versions,
  };
}

async function readBuildInfo(dir: string): Promise<BuildInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "build-info.json"), "utf8")) as BuildInfo;
  } catch {
    return undefined;
  }
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes a lock directory so that concurrent callers (e.g. `npm run cluster` and a test
 * run) build once; the loser waits. A lock left by a dead process is taken over.
 */
async function withLock<T>(lockDir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(await readFile(join(lockDir, "pid"), "utf8").catch(() => ""), 10);
      const age = await stat(lockDir).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if ((Number.isInteger(owner) && !isAlive(owner)) || (!Number.isInteger(owner) && age > 10_000)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for another build of the kube binaries (pid ${owner}) to finish`);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** Runs `go <args>` in the module; resolves with its output, or `undefined` when it fails. */
function goOutput(args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolveOutput) => {
    execFile("go", args, { cwd: kubeModuleDir, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) =>
      resolveOutput(error === null ? stdout.trim() : undefined),
    );
  });
}

async function runGoBuild(outDir: string, version: string, log: (line: string) => void): Promise<void> {
  const env = goCommandEnv();
  log("  resolving packages (downloads modules missing from the module cache)");
  // The package count bounds the work, for progress lines; the build reports errors.
  const deps = await goOutput(["list", "-deps", ...targets.map((t) => t.pkg)], env);
  const total = deps?.split("\n").length;
  // The release date of the pinned k8s.io/kubernetes serves as the build date.
  const date = await goOutput(
    ["list", "-m", "-f", '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}', "k8s.io/kubernetes"],
    env,
  );
  const ldflags = ["-s", "-w", ...versionLdflags(version, date ?? "1970-01-01T00:00:00Z")].join(" ");
  const args = [
    "build",
    "-v",
    "-trimpath",
    `-ldflags=${ldflags}`,
    "-o",
    `${outDir}/`,
    ...targets.map((t) => t.pkg),
  ];
  const child = spawn("go", args, { cwd: kubeModuleDir, env, stdio: ["ignore", "ignore", "pipe"] });
  const started = Date.now();
  let compiled = 0;
  let tail: string[] = [];
  let pending = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      // `go build -v` names each package as it compiles; anything else is a message.
      if (/^[\w.-]+(\/[\w.~+-]+)*$/.test(line)) compiled++;
      else if (line.trim() !== "") log(line);
      tail = [...tail.slice(-39), line];
    }
  });
  const timer = setInterval(() => {
    const of = total === undefined ? "" : ` of at most ${total}`;
    log(
      `  still building: ${compiled}${of} packages compiled, ${formatDuration(Date.now() - started)} elapsed`,
    );
  }, 30_000);
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", resolveExit);
  }).finally(() => clearInterval(timer));
  if (code !== 0) {
    throw new Error(`go build of the kube binaries failed (exit ${code}):\n${tail.join("\n")}`);
  }
}

/**
 * Returns the paths of `kube-apiserver`, `kube-controller-manager` and `etcd` for the
 * pinned versions, building them first when they are not cached.
 *
 * Throws {@link GoNotFoundError} when a build is needed and `go` is not on PATH, and an
 * `Error` with the tail of the compiler output when the build fails.
 *
 * @example
 * const { apiserver, version } = await ensureKubeBinaries();
 */
export async function ensureKubeBinaries(options: EnsureKubeBinariesOptions = {}): Promise<KubeBinaries> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const versions = await pinnedVersions();
  const root = kubeCacheRoot();
  const dir = join(root, versions.version);
  const wanted = await buildKey();
  const binaries = binariesIn(dir, versions);
  const cached = async (): Promise<boolean> => {
    const info = await readBuildInfo(dir);
    return (
      info?.key === wanted &&
      [binaries.apiserver, binaries.controllerManager, binaries.etcd].every(existsSync)
    );
  };
  if (!options.force && (await cached())) return binaries;

  const go = goVersion();
  if (go === undefined) throw new GoNotFoundError();
  await mkdir(root, { recursive: true });
  return withLock(join(root, `${versions.version}.lock`), log, async () => {
    if (!options.force && (await cached())) return binaries;
    // Holding the lock, any staging directory is left over from a killed build.
    for (const name of await readdir(root)) {
      if (name.startsWith(`${versions.version}.tmp-`))
        await rm(join(root, name), { recursive: true, force: true });
    }
    const staging = join(root, `${versions.version}.tmp-${process.pid}`);
    log(
      `building kube-apiserver, kube-controller-manager ${versions.version} and etcd ${versions.etcdVersion} ` +
        `with ${go} into ${dir} (about 10 minutes on 2 cores when nothing is cached; later runs use the cache)`,
    );
    const started = Date.now();
    try {
      await runGoBuild(staging, versions.version, log);
      await rename(join(staging, "server"), join(staging, "etcd"));
      const seconds = Math.round((Date.now() - started) / 1000);
      const info: BuildInfo = { ...versions, key: wanted, go, seconds };
      await writeFile(join(staging, "build-info.json"), `${JSON.stringify(info, null, 2)}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    log(`built the kube binaries in ${formatDuration(Date.now() - started)}`);
    return binaries;
  });
}

if (import.meta.main) {
  const force = process.argv.includes("--force");
  ensureKubeBinaries({ force }).then(
    (binaries) => {
      process.stdout.write(`${JSON.stringify(binaries, null, 2)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
