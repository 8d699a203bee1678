/**
 * Starts a real Kubernetes control plane for tests: etcd, kube-apiserver and (optionally)
 * kube-controller-manager, on loopback with random ports, in a fresh temporary directory.
 * No kubelet and no scheduler: pods are admitted and stored but never run.
 *
 * Process lifetime. Every process is killed by `stop()`; if the Node process exits
 * first, an `exit` hook SIGKILLs them (and a SIGINT/SIGTERM/SIGHUP nobody else handles
 * does the same before re-raising the signal). If Node is killed outright (SIGKILL, a
 * crash), the children still die: on Linux each is started through util-linux's
 * `setpriv --pdeathsig KILL`, which asks the kernel to SIGKILL the process when the
 * thread that spawned it exits, and then execs the binary (so the PID is the binary's).
 * The directory such a process leaves behind is removed by the next `startCluster()`,
 * which deletes every `belay-cluster-*` directory whose owner (`owner.pid`) is dead.
 *
 * See docs/testing.md.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { ensureKubeBinaries, type KubeBinaries } from "../../scripts/build-kube.ts";
import { type CertAndKey, createPki, issueClientCert } from "./pki.ts";

/** Options for {@link startCluster}. Every field is optional. */
export interface ClusterOptions {
  /** Binaries to run; default: {@link ensureKubeBinaries} (builds them when missing). */
  binaries?: KubeBinaries;
  /**
   * An audit policy (YAML). Enables the log backend, writing JSON lines to
   * `cluster.auditLogPath` (blocking mode, so an event is on disk when the request returns).
   */
  auditPolicy?: string;
  /** A kubeconfig (YAML) for the audit webhook backend; needs `auditPolicy`. */
  auditWebhookConfig?: string;
  /** A structured `AuthenticationConfiguration` (YAML), passed as `--authentication-config`. */
  authenticationConfig?: string;
  /** An `EncryptionConfiguration` (YAML), passed as `--encryption-provider-config`. */
  encryptionConfig?: string;
  /** An `AdmissionConfiguration` (YAML), passed as `--admission-control-config-file`. */
  admissionConfig?: string;
  /** Admission plugins to enable in addition to the defaults and the harness's own. */
  admissionPlugins?: string[];
  /** Feature gates for the API server, e.g. `{ MutatingAdmissionPolicy: true }`. */
  featureGates?: Record<string, boolean>;
  /** `--runtime-config` entries, e.g. `{ "admissionregistration.k8s.io/v1beta1": "true" }`. */
  runtimeConfig?: Record<string, string>;
  /** Extra `kube-apiserver` flags (`--flag=value`), appended last so they win. */
  apiserverArgs?: string[];
  /**
   * Run kube-controller-manager (default `true`). Without it no namespace is ever
   * finalized and no service account is created.
   */
  controllerManager?: boolean;
  /** Extra `kube-controller-manager` flags, appended last. */
  controllerManagerArgs?: string[];
  /** How long to wait for each component to become ready; default 120 s. */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; default 5 s. */
  stopGraceMs?: number;
  /** Receives progress lines; default: none. */
  log?: (line: string) => void;
}

/** The PIDs of a cluster's processes. */
export interface ClusterPids {
  etcd: number;
  apiserver: number;
  controllerManager?: number;
}

/** A running cluster. */
export interface Cluster {
  /** The API server URL, e.g. `https://127.0.0.1:40123`. */
  server: string;
  /** The CA that signed the serving and client certificates (PEM). */
  caPem: string;
  /** The cluster's temporary directory; removed by `stop()`. */
  dir: string;
  /** Certificates and keys, including `ca.key` for {@link issueClientCert}. */
  certDir: string;
  /** An admin kubeconfig (client certificate in `system:masters`), with embedded data. */
  kubeconfigPath: string;
  /** The admin kubeconfig, loaded. */
  kubeConfig: KubeConfig;
  /** The audit log, when `auditPolicy` was given. */
  auditLogPath?: string;
  /** Log files of the components (stdout and stderr). */
  logs: { etcd: string; apiserver: string; controllerManager?: string };
  pids: ClusterPids;
  /** The Kubernetes version, e.g. `v1.37.2`. */
  version: string;
  /** A kubeconfig authenticating as `user` in `groups` with a fresh client certificate. */
  userKubeConfig(user: string, groups?: string[]): Promise<KubeConfig>;
  /** A kubeconfig authenticating with a bearer token (service account, OIDC...). */
  tokenKubeConfig(token: string): KubeConfig;
  /**
   * Kills kube-apiserver (SIGKILL, as a crash), waits `downMs`, starts it again on the same
   * port and etcd and waits until it is ready: for tests of clients that must survive an
   * API server restart. Updates `pids.apiserver`. Throws, with the log tail, when it does
   * not come back.
   */
  restartApiServer(downMs?: number): Promise<void>;
  /**
   * Stops every process (SIGTERM, then SIGKILL after the grace period), waits for them to
   * exit and removes `dir`. Idempotent; never throws.
   */
  stop(): Promise<void>;
}

/** Connection details of a cluster, serializable (what global setup hands to tests). */
export interface ClusterInfo {
  server: string;
  caPem: string;
  certDir: string;
  kubeconfigPath: string;
  version: string;
}

/** The service CIDR; the `kubernetes` service gets its first address, 10.0.0.1. */
const serviceClusterIpRange = "10.0.0.0/24";

/**
 * Admission plugins enabled on top of the API server's defaults (in 1.37: NamespaceLifecycle,
 * LimitRanger, ServiceAccount, PodSecurity, MutatingAdmissionPolicy, ValidatingAdmissionPolicy,
 * the admission webhooks, ResourceQuota and more; see `kube-apiserver --help`). Listing
 * default ones again is harmless and keeps this list the statement of what belay's tests
 * rely on; NodeRestriction is the one addition.
 */
const admissionPlugins = [
  "NodeRestriction",
  "PodSecurity",
  "ValidatingAdmissionPolicy",
  "MutatingAdmissionWebhook",
  "ValidatingAdmissionWebhook",
];

// ---------------------------------------------------------------------------------------
// Kubeconfigs

/** What a kubeconfig authenticates with. */
export type Credentials = CertAndKey | { token: string };

/** Renders a single-context kubeconfig (YAML) with embedded CA and credentials. */
export function kubeconfigYaml(
  server: string,
  caPem: string,
  user: string,
  credentials: Credentials,
): string {
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  const userEntry =
    "token" in credentials
      ? { token: credentials.token }
      : { "client-certificate-data": b64(credentials.certPem), "client-key-data": b64(credentials.keyPem) };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "belay-test", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: "belay-test", context: { cluster: "belay-test", user } }],
    "current-context": "belay-test",
  });
}

/** Loads a kubeconfig for `server` with the given credentials. */
export function kubeConfigFor(
  server: string,
  caPem: string,
  user: string,
  credentials: Credentials,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(server, caPem, user, credentials));
  return kc;
}

/** Loads the admin kubeconfig of a running cluster described by `info`. */
export async function adminKubeConfig(info: ClusterInfo): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromString(await readFile(info.kubeconfigPath, "utf8"));
  return kc;
}

/** A kubeconfig for `user` in `groups`, with a client certificate signed by the cluster CA. */
export async function userKubeConfigFor(
  info: ClusterInfo,
  user: string,
  groups: string[] = [],
): Promise<KubeConfig> {
  return kubeConfigFor(info.server, info.caPem, user, await issueClientCert(info.certDir, user, groups));
}

// ---------------------------------------------------------------------------------------
// Processes

interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  logPath: string;
  exited: Promise<void>;
  /** How the process ended (`code 1`, `signal SIGKILL`), or `undefined` while it runs. */
  exitStatus(): string | undefined;
}

interface LiveCluster {
  procs: Proc[];
  dir: string;
}

/** Clusters not yet stopped, for the exit hooks. */
const live = new Set<LiveCluster>();
let hooksInstalled = false;

/**
 * Whether `pid` is a running process. A zombie (dead, not yet reaped by us) does not
 * count: it can no longer write to its directory.
 */
function isRunningPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // "<pid> (<comm>) <state> ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * SIGKILLs the processes of every live cluster and removes their directories, without
 * returning to the event loop (it runs in the `exit` hook). Waits up to 3 s for the
 * processes to die first, or a dying etcd could recreate files in a removed directory.
 */
function killAllSync(): void {
  const pids = [...live].flatMap((cluster) => cluster.procs.map((proc) => proc.pid));
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 3000;
  while (pids.some(isRunningPid) && Date.now() < deadline) sleepSync(10);
  for (const cluster of live) rmSync(cluster.dir, { recursive: true, force: true, maxRetries: 3 });
  live.clear();
  sweepStaleDirs();
}

/** The file in a cluster directory naming the PID of the Node process that owns it. */
const ownerFile = "owner.pid";

/**
 * Removes the directories of clusters whose Node process died without cleaning up
 * (SIGKILL, a crash, a test worker killed by vitest). Their processes are already dead:
 * see the file comment. Synchronous, to run in the `exit` hook too.
 */
function sweepStaleDirs(): void {
  const root = tmpdir();
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => name.startsWith("belay-cluster-"));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(root, name);
    let owner: number;
    try {
      owner = Number.parseInt(readFileSync(join(dir, ownerFile), "utf8"), 10);
    } catch {
      continue;
    }
    if (Number.isInteger(owner) && owner !== process.pid && !isRunningPid(owner)) {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      // If someone else handles the signal, the process may live on; they call stop()
      // or exit, and the exit hook cleans up. Otherwise die as the default action would.
      if (process.listenerCount(signal) > 1) return;
      killAllSync();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

let setprivPath: string | null | undefined;

/** `setpriv`, when this is Linux and util-linux provides it. */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform === "linux") {
    for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/bin"])) {
      if (dir !== "" && existsSync(join(dir, "setpriv"))) {
        setprivPath = join(dir, "setpriv");
        break;
      }
    }
  }
  return setprivPath;
}

function startProcess(name: string, binary: string, args: string[], logPath: string): Proc {
  // Output goes straight to a file: no pipe to keep drained, nothing to break if we die.
  const fd = openSync(logPath, "a");
  const setpriv = findSetpriv();
  const [command, argv] =
    setpriv === null ? [binary, args] : [setpriv, ["--pdeathsig", "KILL", "--", binary, ...args]];
  let child: ChildProcess;
  try {
    child = spawn(command, argv, { stdio: ["ignore", fd, fd], env: { ...process.env, KUBECONFIG: "" } });
  } finally {
    closeSync(fd);
  }
  let status: string | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once("exit", (exitCode, signal) => {
      status = signal === null ? `code ${exitCode}` : `signal ${signal}`;
      resolveExit();
    });
    child.once("error", () => {
      status = "failed to start";
      resolveExit();
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${binary})`);
  return { name, child, pid: child.pid, logPath, exited, exitStatus: () => status };
}

async function stopProcess(proc: Proc, graceMs: number): Promise<void> {
  if (proc.exitStatus() !== undefined) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

async function logTail(path: string, lines = 40): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}

/** GETs `url`; resolves with status and body, or `undefined` on a connection error. */
function get(url: string, tls?: TlsClient): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolveGet) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(url, { ...tls, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
      res.on("error", () => resolveGet(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolveGet(undefined));
    req.end();
  });
}

/**
 * Polls `check` until it returns true. Throws, with the tail of the process's log, when
 * the process exits or `timeoutMs` passes.
 */
async function waitFor(
  proc: Proc,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitStatus() !== undefined) {
      throw new Error(
        `${proc.name} exited (${proc.exitStatus()}) before ${what}; last lines of ${proc.logPath}:\n` +
          (await logTail(proc.logPath)),
      );
    }
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting until ${what}; last lines of ${proc.logPath}:\n` +
          (await logTail(proc.logPath)),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether the process died because a port we picked was taken in the meantime. */
async function lostPortRace(proc: Proc): Promise<boolean> {
  await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 100))]);
  return proc.exitStatus() !== undefined && /address already in use/i.test(await logTail(proc.logPath, 200));
}

// ---------------------------------------------------------------------------------------
// The cluster

function flagMap(values: Record<string, string | boolean>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(",");
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager and waits until the API server
 * is ready (`/readyz`) and, with the controller manager, until the `default` service
 * account exists in namespace `default`.
 *
 * Throws when the binaries cannot be built or a component fails to start; the error
 * carries the tail of that component's log. Everything started so far is stopped first.
 *
 * @example
 * const cluster = await startCluster({ featureGates: { MutatingAdmissionPolicy: true } });
 * try {
 *   const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
 *   await core.listNamespace();
 * } finally {
 *   await cluster.stop();
 * }
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const graceMs = options.stopGraceMs ?? 5000;
  const binaries = options.binaries ?? (await ensureKubeBinaries({ log }));

  installExitHooks();
  sweepStaleDirs();
  const dir = await mkdtemp(join(tmpdir(), "belay-cluster-"));
  await writeFile(join(dir, ownerFile), String(process.pid));
  const state: LiveCluster = { procs: [], dir };
  live.add(state);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Controller manager first (it watches the API server), etcd last.
      for (const proc of [...state.procs].reverse()) await stopProcess(proc, graceMs);
      live.delete(state);
      await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    })();
    return stopped;
  };

  try {
    const certDir = join(dir, "pki");
    await mkdir(certDir);
    const pki = await createPki(certDir);
    const admin: TlsClient = {
      ca: pki.caPem,
      cert: await readFile(pki.adminCert, "utf8"),
      key: await readFile(pki.adminKey, "utf8"),
    };

    // etcd. Ports are picked free and then bound by the child, so another process can
    // take one in between; the start is retried when that happens.
    const etcdLog = join(dir, "etcd.log");
    let etcd: Proc | undefined;
    let etcdUrl = "";
    for (let attempt = 1; etcd === undefined; attempt++) {
      const [clientPort, peerPort] = [await freePort(), await freePort()];
      etcdUrl = `http://127.0.0.1:${clientPort}`;
      const peerUrl = `http://127.0.0.1:${peerPort}`;
      log(`starting etcd ${binaries.etcdVersion} on ${etcdUrl}`);
      await rm(join(dir, "etcd"), { recursive: true, force: true });
      const proc = startProcess(
        "etcd",
        binaries.etcd,
        [
          "--name=belay",
          `--data-dir=${join(dir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=belay=${peerUrl}`,
          "--initial-cluster-state=new",
          "--log-level=warn",
          // Test data is thrown away: skip fsync, and elect the single member quickly.
          "--unsafe-no-fsync",
          "--heartbeat-interval=50",
          "--election-timeout=250",
        ],
        etcdLog,
      );
      state.procs.push(proc);
      if (attempt < 3 && (await lostPortRace(proc))) {
        state.procs.pop();
        continue;
      }
      etcd = proc;
    }
    await waitFor(etcd, "etcd is healthy", timeoutMs, async () => {
      const res = await get(`${etcdUrl}/health`);
      return res?.status === 200 && res.body.includes('"true"');
    });

    // kube-apiserver.
    const apiserverLog = join(dir, "kube-apiserver.log");
    const configFile = async (name: string, content: string): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    };
    const args = [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      // The endpoint reconciler rejects a loopback advertise address, and without pods
      // nothing needs endpoints for the kubernetes service.
      "--endpoint-reconciler-type=none",
      `--cert-dir=${join(dir, "apiserver")}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--authorization-mode=Node,RBAC",
      `--enable-admission-plugins=${[...admissionPlugins, ...(options.admissionPlugins ?? [])].join(",")}`,
      // Real clusters allow privileged pods; belay's rules are what should reject them.
      "--allow-privileged=true",
      "--profiling=false",
    ];
    let auditLogPath: string | undefined;
    if (options.auditPolicy !== undefined) {
      auditLogPath = join(dir, "audit.log");
      args.push(
        `--audit-policy-file=${await configFile("audit-policy.yaml", options.auditPolicy)}`,
        `--audit-log-path=${auditLogPath}`,
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
      );
      if (options.auditWebhookConfig !== undefined) {
        args.push(
          `--audit-webhook-config-file=${await configFile("audit-webhook.yaml", options.auditWebhookConfig)}`,
        );
      }
    } else if (options.auditWebhookConfig !== undefined) {
      throw new Error("auditWebhookConfig needs auditPolicy");
    }
    if (options.authenticationConfig !== undefined) {
      args.push(
        `--authentication-config=${await configFile("authentication.yaml", options.authenticationConfig)}`,
      );
    }
    if (options.encryptionConfig !== undefined) {
      args.push(
        `--encryption-provider-config=${await configFile("encryption.yaml", options.encryptionConfig)}`,
      );
    }
    if (options.admissionConfig !== undefined) {
      args.push(
        `--admission-control-config-file=${await configFile("admission.yaml", options.admissionConfig)}`,
      );
    }
    if (options.featureGates !== undefined && Object.keys(options.featureGates).length > 0) {
      args.push(`--feature-gates=${flagMap(options.featureGates)}`);
    }
    if (options.runtimeConfig !== undefined && Object.keys(options.runtimeConfig).length > 0) {
      args.push(`--runtime-config=${flagMap(options.runtimeConfig)}`);
    }
    let apiserver: Proc | undefined;
    let server = "";
    for (let attempt = 1; apiserver === undefined; attempt++) {
      const port = await freePort();
      server = `https://127.0.0.1:${port}`;
      log(`starting kube-apiserver ${binaries.version} on ${server}`);
      const proc = startProcess(
        "kube-apiserver",
        binaries.apiserver,
        [...args, `--secure-port=${port}`, ...(options.apiserverArgs ?? [])],
        apiserverLog,
      );
      state.procs.push(proc);
      if (attempt < 3 && (await lostPortRace(proc))) {
        state.procs.pop();
        continue;
      }
      apiserver = proc;
    }
    await waitFor(apiserver, "kube-apiserver is ready (/readyz)", timeoutMs, async () => {
      const res = await get(`${server}/readyz`, admin);
      return res?.status === 200;
    });

    const kubeconfigPath = join(dir, "admin.kubeconfig");
    await writeFile(
      kubeconfigPath,
      kubeconfigYaml(server, pki.caPem, "belay-admin", { certPem: admin.cert, keyPem: admin.key }),
      { mode: 0o600 },
    );
    const kubeConfig = kubeConfigFor(server, pki.caPem, "belay-admin", {
      certPem: admin.cert,
      keyPem: admin.key,
    });

    // kube-controller-manager.
    let controllerManager: Proc | undefined;
    const controllerManagerLog = join(dir, "kube-controller-manager.log");
    if (options.controllerManager ?? true) {
      const cmKubeconfig = await configFile(
        "controller-manager.kubeconfig",
        kubeconfigYaml(server, pki.caPem, "system:kube-controller-manager", {
          certPem: await readFile(pki.controllerManagerCert, "utf8"),
          keyPem: await readFile(pki.controllerManagerKey, "utf8"),
        }),
      );
      log("starting kube-controller-manager");
      controllerManager = startProcess(
        "kube-controller-manager",
        binaries.controllerManager,
        [
          `--kubeconfig=${cmKubeconfig}`,
          "--controllers=*",
          "--use-service-account-credentials=false",
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.serviceAccountKey}`,
          `--cluster-signing-cert-file=${pki.caCert}`,
          `--cluster-signing-key-file=${pki.caKey}`,
          `--service-cluster-ip-range=${serviceClusterIpRange}`,
          "--leader-elect=false",
          // No serving endpoint: nothing scrapes it, and it would need another port.
          "--secure-port=0",
          ...(options.controllerManagerArgs ?? []),
        ],
        controllerManagerLog,
      );
      state.procs.push(controllerManager);
      const core = kubeConfig.makeApiClient(CoreV1Api);
      await waitFor(
        controllerManager,
        "kube-controller-manager has created the default service account",
        timeoutMs,
        () =>
          core.readNamespacedServiceAccount({ name: "default", namespace: "default" }).then(
            () => true,
            () => false,
          ),
      );
    }
    log(`cluster ready at ${server}`);

    const cluster: Cluster = {
      server,
      caPem: pki.caPem,
      dir,
      certDir,
      kubeconfigPath,
      kubeConfig,
      logs: {
        etcd: etcdLog,
        apiserver: apiserverLog,
        ...(controllerManager === undefined ? {} : { controllerManager: controllerManagerLog }),
      },
      pids: {
        etcd: etcd.pid,
        apiserver: apiserver.pid,
        ...(controllerManager === undefined ? {} : { controllerManager: controllerManager.pid }),
      },
      version: binaries.version,
      userKubeConfig: async (user, groups = []) =>
        kubeConfigFor(server, pki.caPem, user, await issueClientCert(certDir, user, groups)),
      tokenKubeConfig: (token) => kubeConfigFor(server, pki.caPem, "token-user", { token }),
      restartApiServer: async (downMs = 0) => {
        const index = state.procs.findIndex((proc) => proc.name === "kube-apiserver");
        const old = state.procs[index];
        if (old === undefined) throw new Error("kube-apiserver is not running");
        old.child.kill("SIGKILL");
        await old.exited;
        if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
        log(`restarting kube-apiserver on ${server}`);
        const proc = startProcess(
          "kube-apiserver",
          binaries.apiserver,
          [...args, `--secure-port=${new URL(server).port}`, ...(options.apiserverArgs ?? [])],
          apiserverLog,
        );
        state.procs[index] = proc;
        cluster.pids.apiserver = proc.pid;
        await waitFor(proc, "kube-apiserver is ready again (/readyz)", timeoutMs, async () => {
          const res = await get(`${server}/readyz`, admin);
          return res?.status === 200;
        });
      },
      stop,
    };
    if (auditLogPath !== undefined) cluster.auditLogPath = auditLogPath;
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The serializable connection details of `cluster`. */
export function clusterInfo(cluster: Cluster): ClusterInfo {
  const { server, caPem, certDir, kubeconfigPath, version } = cluster;
  return { server, caPem, certDir, kubeconfigPath, version };
}

/** A random lowercase suffix for names of test objects. */
export function randomSuffix(): string {
  return randomBytes(4).toString("hex");
}
