import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiException, AuthenticationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { ensureKubeBinaries } from "../../scripts/build-kube.ts";
import { type Cluster, startCluster } from "./harness.ts";
import {
  adminKubeConfig,
  createTestNamespace,
  describeCluster,
  tokenKubeConfig,
  userKubeConfig,
} from "./shared.ts";

const here = dirname(fileURLToPath(import.meta.url));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    return false;
  }
}

async function waitUntilGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let running = pids.filter(isRunning);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    running = running.filter(isRunning);
  }
  return running;
}

/** An unauthenticated GET; resolves with the status code. */
function anonymousStatus(url: string, caPem: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    request(url, { ca: caPem }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

describeCluster("shared cluster", () => {
  it("lists and creates namespaces as admin", async () => {
    const kc = await adminKubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const names = (await core.listNamespace()).items.map((ns) => ns.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(["default", "kube-system", "kube-public"]));

    const created = await createTestNamespace(kc, "harness");
    expect((await core.readNamespace({ name: created })).status?.phase).toBe("Active");
  });

  it("denies a user without RBAC bindings (403 listing secrets)", async () => {
    const core = (await userKubeConfig("mallory", ["belay:nobody"])).makeApiClient(CoreV1Api);
    const error = await core.listSecretForAllNamespaces().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(403);
    expect(String((error as ApiException<unknown>).body)).toContain('cannot list resource \\"secrets\\"');
  });

  it("authenticates service account tokens signed by the cluster", async () => {
    const kc = await adminKubeConfig();
    const namespace = await createTestNamespace(kc, "harness-sa");
    const token = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: "default",
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    expect(token.status?.token).toBeTruthy();

    const review = await tokenKubeConfig(token.status?.token ?? "")
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:default`);
  });
});

describeCluster("startCluster with options", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({
      auditPolicy: "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n",
      authenticationConfig: [
        "apiVersion: apiserver.config.k8s.io/v1",
        "kind: AuthenticationConfiguration",
        "anonymous:",
        "  enabled: true",
        "  conditions:",
        "    - path: /readyz",
      ].join("\n"),
      encryptionConfig: [
        "apiVersion: apiserver.config.k8s.io/v1",
        "kind: EncryptionConfiguration",
        "resources:",
        "  - resources: [secrets]",
        "    providers:",
        "      - aescbc:",
        "          keys:",
        `            - name: key1`,
        `              secret: ${Buffer.alloc(32, 7).toString("base64")}`,
        "      - identity: {}",
      ].join("\n"),
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("writes the audit log", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.readNamespace({ name: "kube-public" });
    const events = (await readFile(cluster.auditLogPath ?? "", "utf8"))
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { verb: string; objectRef?: { name?: string }; user: { username: string } },
      );
    expect(events).toContainEqual(
      expect.objectContaining({
        verb: "get",
        objectRef: expect.objectContaining({ name: "kube-public" }),
        user: expect.objectContaining({ username: "belay-admin" }),
      }),
    );
  });

  it("applies the authentication configuration (anonymous only on /readyz)", async () => {
    expect(await anonymousStatus(`${cluster.server}/readyz`, cluster.caPem)).toBe(200);
    expect(await anonymousStatus(`${cluster.server}/version`, cluster.caPem)).toBe(401);
  });

  it("stores secrets with the encryption configuration", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "s" }, stringData: { k: "v" } },
    });
    const read = await core.readNamespacedSecret({ name: "s", namespace: "default" });
    expect(Buffer.from(read.data?.k ?? "", "base64").toString()).toBe("v");
    // etcd's write-ahead log holds the stored value: encrypted, with the provider's prefix.
    const walDir = join(cluster.dir, "etcd", "member", "wal");
    const wal = Buffer.concat(
      await Promise.all((await readdir(walDir)).map((name) => readFile(join(walDir, name)))),
    );
    expect(wal.includes("/registry/secrets/default/s")).toBe(true);
    expect(wal.includes("k8s:enc:aescbc:v1:key1:")).toBe(true);
  });

  it("stops every process it started and removes its directory", async () => {
    const pids = Object.values(cluster.pids);
    expect(pids).toHaveLength(3);
    expect(pids.every(isRunning)).toBe(true);
    expect(existsSync(cluster.dir)).toBe(true);

    await cluster.stop();

    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
    await cluster.stop(); // idempotent
  });
});

describeCluster("startCluster in a process that dies", () => {
  it.skipIf(process.platform !== "linux")(
    "kills the cluster when its Node process is SIGKILLed",
    async () => {
      const binaries = await ensureKubeBinaries();
      const repoNode = resolve(here, "../../node_modules/.bin/node");
      const node = existsSync(repoNode) ? repoNode : process.execPath;
      const child = spawn(node, [join(here, "hold-cluster.ts"), JSON.stringify(binaries)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const started = await new Promise<{ pids: Record<string, number>; dir: string }>(
        (resolveLine, reject) => {
          let out = "";
          child.stdout.setEncoding("utf8");
          child.stdout.on("data", (chunk: string) => {
            out += chunk;
            if (out.includes("\n")) resolveLine(JSON.parse(out.slice(0, out.indexOf("\n"))));
          });
          child.on("exit", (code) => reject(new Error(`hold-cluster.ts exited with ${code}`)));
        },
      );
      const pids = Object.values(started.pids);
      onTestFinished(async () => {
        // Nobody is left to clean up; and if the test failed, the processes live on.
        child.kill("SIGKILL");
        for (const pid of pids.filter(isRunning)) process.kill(pid, "SIGKILL");
        await rm(started.dir, { recursive: true, force: true });
      });
      expect(pids.every(isRunning)).toBe(true);

      child.kill("SIGKILL");

      expect(await waitUntilGone(pids, 10_000)).toEqual([]);
    },
  );
});
