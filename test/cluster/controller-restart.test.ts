/**
 * `belay controller` on a cluster of its own, through failures: the API server is killed and
 * restarted while the controller runs (it recovers, converges, and a one-shot audit then has
 * nothing to add or remove: no lost or duplicate results), and watches resumed from a
 * compacted resourceVersion get 410 Gone and relist. The API server runs without its watch
 * cache and compacts etcd every 2 s, so a watch resumed a few seconds later is reliably too
 * old (with a watch cache, 410 depends on the cache's window).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { runAudit } from "../audit/run-audit.ts";
import {
  installReportCrds,
  type RunningController,
  startController,
  waitUntil,
} from "./controller-support.ts";
import { type Cluster, startCluster } from "./harness.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { describeCluster } from "./shared.ts";

const RULES = "pss-privileged,rbac-wildcard,namespace-no-default-deny";
const WG = "/apis/wgpolicyk8s.io/v1alpha2";

let cluster: Cluster;
let client: RawClient;

async function send(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await client.send(method, path, body === undefined ? undefined : JSON.stringify(body));
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

async function failing(namespace: string): Promise<string[]> {
  const res = await client.send("GET", `${WG}/namespaces/${namespace}/policyreports/belay`);
  if (res.status !== 200) return [];
  const report = JSON.parse(res.body) as {
    results: { policy: string; result: string; resources: { name: string }[] }[];
  };
  return report.results
    .filter((r) => r.result === "fail")
    .map((r) => `${r.policy} ${r.resources[0]?.name}`)
    .sort();
}

function pod(name: string) {
  return {
    metadata: { name },
    spec: {
      containers: [{ name: "app", image: "registry.example/app:1.0", securityContext: { privileged: true } }],
    },
  };
}

describeCluster("belay controller through API server restarts and 410 Gone", () => {
  const ns = "restart-test";

  beforeAll(async () => {
    cluster = await startCluster({ apiserverArgs: ["--watch-cache=false", "--etcd-compaction-interval=2s"] });
    client = await rawClient(cluster.kubeConfig, 8);
    await installReportCrds(client);
    await send("POST", "/api/v1/namespaces", { metadata: { name: ns } });
    await waitUntil("the default service account exists", 30_000, async () => {
      return (await client.send("GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200;
    });
    await send("POST", `/api/v1/namespaces/${ns}/pods`, pod("priv"));
    await send("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
      metadata: { name: "star" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }],
    });
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it("recovers from a killed and restarted API server and converges with no lost or duplicate results", async () => {
    const controller: RunningController = await startController(
      ["--rules", RULES, "--report-api", "both", "--lease-namespace", "default"],
      cluster.kubeconfigPath,
      { debounceMs: 200, backoff: { initialMs: 200, maxMs: 2000 } },
    );
    try {
      // A standby is ready too: wait for leadership first.
      const synced = async () =>
        (await controller.metric("belay_controller_leader")) === 1 && (await controller.readyz()) === 200;
      await waitUntil("the controller leads and is synced", 60_000, synced);
      expect(await failing(ns)).toContain("pss-privileged priv");
      const cluster1 = await send("GET", `${WG}/clusterpolicyreports/belay-cluster`);
      expect(JSON.stringify(cluster1)).toContain('"name":"star"');

      await cluster.restartApiServer(2000);
      // Changes right after the restart are picked up.
      await send("POST", `/api/v1/namespaces/${ns}/pods`, pod("after-restart"));
      await send("DELETE", `/api/v1/namespaces/${ns}/pods/priv?gracePeriodSeconds=0`);
      await waitUntil("the report shows the changes made after the restart", 60_000, async () => {
        const now = await failing(ns);
        return now.includes("pss-privileged after-restart") && !now.includes("pss-privileged priv");
      });
      expect(
        await controller.metric("belay_controller_watch_restarts_total", { reason: "error" }),
      ).toBeGreaterThan(0);
      expect(controller.log()).toContain('"msg":"watch failed; retrying"');
      await waitUntil("the controller is synced again", 60_000, synced);
      // Let any queued re-evaluation finish.
      await waitUntil(
        "the queue is empty",
        30_000,
        async () => (await controller.metric("belay_controller_queue_depth")) === 0,
      );
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      expect(await controller.stop()).toBe(0);
    }
    // A one-shot audit of the whole cluster computes exactly the reports the controller left.
    const audit = await runAudit(
      ["--rules", RULES, "--write-reports", "--report-api", "both", "-o", "json"],
      {
        PATH: process.env.PATH,
        KUBECONFIG: cluster.kubeconfigPath,
      },
    );
    expect(audit.stderr).toMatch(/reports: 0 created, 0 updated, [1-9]\d* unchanged, 0 failed/);
    const results = (await failing(ns)).filter((r) => r.startsWith("pss-privileged"));
    expect(results).toEqual(["pss-privileged after-restart"]);
  });

  it("relists after 410 Gone when a watch resumes from a compacted resourceVersion", async () => {
    const controller = await startController(
      ["--rules", RULES, "--report-api", "wgpolicyk8s", "--leader-elect=false"],
      cluster.kubeconfigPath,
      // Watches end every 2 s and resume from their last resourceVersion; for kinds nobody
      // writes, that one is compacted away within seconds.
      { debounceMs: 200, watchTimeoutSeconds: () => 2, backoff: { initialMs: 200, maxMs: 2000 } },
    );
    try {
      await waitUntil("the controller is synced", 60_000, async () => (await controller.readyz()) === 200);
      const before = await failing(ns);
      // Keep etcd's revision moving so compaction passes the watches' resourceVersions.
      for (let i = 0; i < 10; i++) {
        await send("POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `tick-${i}` } });
        await new Promise((r) => setTimeout(r, 500));
      }
      await waitUntil(
        "a watch got 410 Gone and relisted",
        60_000,
        async () => (await controller.metric("belay_controller_relists_total", { reason: "gone" })) > 0,
      );
      expect(controller.log()).toContain('"msg":"relist after 410 Gone"');
      await waitUntil(
        "the queue is empty",
        30_000,
        async () => (await controller.metric("belay_controller_queue_depth")) === 0,
      );
      // The relist re-evaluated what the kind affects; nothing changed, so nothing was written.
      expect(await controller.metric("belay_controller_reports_total", { action: "updated" })).toBe(0);
      expect(await failing(ns)).toEqual(before);
    } finally {
      expect(await controller.stop()).toBe(0);
    }
  });
});
