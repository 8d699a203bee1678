/**
 * `belay controller` against the real API server (the shared cluster): it converges to what a
 * one-shot `belay audit` writes, in both report APIs; an object change, a new cluster VAP and a
 * changed param object are re-evaluated; resyncs with nothing changed write nothing; a report
 * too big for one object is split and its leftover parts deleted; two replicas elect one
 * writing leader and the standby takes over when the leader stops.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildPolicyReports, writeReport } from "../../src/audit/index.ts";
import type { Finding } from "../../src/findings/finding.ts";
import { loadKubeConfig, makeKubeClient } from "../../src/kube/index.ts";
import { runAudit } from "../audit/run-audit.ts";
import {
  installReportCrds,
  type RunningController,
  startController,
  waitUntil,
} from "./controller-support.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, createTestNamespace, describeCluster, sharedCluster } from "./shared.ts";

const RULES = "pss-privileged,pss-host-namespaces,rbac-wildcard,namespace-no-default-deny";
const WG = "/apis/wgpolicyk8s.io/v1alpha2";
const OPEN = "/apis/openreports.io/v1alpha1";
const ADM = "/apis/admissionregistration.k8s.io/v1";

interface StoredReport {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  summary: Record<string, number>;
  results: {
    policy: string;
    result: string;
    message: string;
    properties?: Record<string, string>;
    resources: { kind: string; name: string }[];
  }[];
}

let client: RawClient;
let controller: RunningController | undefined;
const cleanup: string[] = [];

async function send(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await client.send(method, path, body === undefined ? undefined : JSON.stringify(body));
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

async function report(api: string, namespace: string, name = "belay"): Promise<StoredReport | undefined> {
  const path =
    api === WG
      ? `${WG}/namespaces/${namespace}/policyreports/${name}`
      : `${OPEN}/namespaces/${namespace}/reports/${name}`;
  const res = await client.send("GET", path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as StoredReport;
}

/** `policy resource` of every failing result of ours, sorted. */
function failing(stored: StoredReport | undefined): string[] {
  return (stored?.results ?? [])
    .filter((r) => r.result === "fail")
    .map((r) => `${r.policy} ${r.resources[0]?.name}`)
    .sort();
}

function pod(name: string, privileged = false) {
  return {
    metadata: { name },
    spec: {
      containers: [
        {
          name: "app",
          image: "registry.example/app:1.0",
          ...(privileged ? { securityContext: { privileged: true } } : {}),
        },
      ],
    },
  };
}

function deployment(name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}) {
  return {
    metadata: { name, labels },
    spec: {
      paused: true,
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "registry.example/app:1.0" }], ...spec },
      },
    },
  };
}

const kubeconfig = () => sharedCluster?.kubeconfigPath ?? "";

describeCluster("belay controller, live", () => {
  let ns: string;

  beforeAll(async () => {
    const kc = await adminKubeConfig();
    client = await rawClient(kc, 8);
    await installReportCrds(client);
    ns = await createTestNamespace(kc, "ctrl");
    await send("POST", `/api/v1/namespaces/${ns}/pods`, pod("priv", true));
    const apps = `/apis/apps/v1/namespaces/${ns}/deployments`;
    await send("POST", apps, deployment("hostnet", { team: "a" }, { hostNetwork: true }));
    await send("POST", apps, deployment("unlabeled", {}));
    await send("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      metadata: { name: "wild" },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    });
  });

  afterAll(async () => {
    await controller?.stop();
    for (const path of cleanup) await client?.send("DELETE", path);
    client?.close();
  });

  it("converges to what a one-shot belay audit writes, in both report APIs", async () => {
    controller = await startController(
      ["-n", ns, "--rules", RULES, "--leader-elect=false", "--resync", "2s"],
      kubeconfig(),
      { debounceMs: 200 },
    );
    await waitUntil(
      "the controller is synced (/readyz 200)",
      60_000,
      async () => (await controller?.readyz()) === 200,
    );
    const wg = await report(WG, ns);
    const open = await report(OPEN, ns);
    expect(failing(wg)).toEqual(
      [
        `namespace-no-default-deny ${ns}`,
        `namespace-no-default-deny ${ns}`,
        "pss-host-namespaces hostnet",
        "pss-privileged priv",
        "rbac-wildcard wild",
        "rbac-wildcard wild",
        "rbac-wildcard wild",
      ].sort(),
    );
    expect(wg?.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("belay");
    expect(wg?.summary.fail).toBe(7);
    expect(wg?.summary.pass).toBeGreaterThan(0);
    // No duplicates: every result is one finding.
    const keys = (wg?.results ?? []).map(
      (r) => `${r.policy} ${r.resources[0]?.kind}/${r.resources[0]?.name} ${r.properties?.path} ${r.message}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
    // The OpenReports Report says the same.
    const strip = (r: StoredReport | undefined) =>
      (r?.results ?? []).map(({ timestamp: _t, ...rest }: Record<string, unknown>) => rest);
    expect(strip(open)).toEqual(strip(wg));
    expect(open?.summary).toEqual(wg?.summary);
    expect((open as unknown as { source?: string }).source).toBe("belay");

    // A one-shot audit computes the same reports: it has nothing to write.
    const audit = await runAudit(
      ["-n", ns, "--rules", RULES, "--write-reports", "--report-api", "both", "-o", "json"],
      {
        PATH: process.env.PATH,
        KUBECONFIG: kubeconfig(),
      },
    );
    expect(audit.stderr).toContain("reports: 0 created, 0 updated, 2 unchanged, 0 failed");
    expect((await report(WG, ns))?.metadata.resourceVersion).toBe(wg?.metadata.resourceVersion);
    expect((await report(OPEN, ns))?.metadata.resourceVersion).toBe(open?.metadata.resourceVersion);
    expect(
      await controller.metric("belay_controller_relists_total", { reason: "initial" }),
    ).toBeGreaterThanOrEqual(16);
  });

  it("re-evaluates a namespace when an object in it changes", async () => {
    await send("POST", `/api/v1/namespaces/${ns}/pods`, pod("priv2", true));
    await waitUntil("priv2 is reported", 30_000, async () =>
      failing(await report(WG, ns)).includes("pss-privileged priv2"),
    );
    await waitUntil("priv2 is in the Report", 30_000, async () =>
      failing(await report(OPEN, ns)).includes("pss-privileged priv2"),
    );
    await send("DELETE", `/api/v1/namespaces/${ns}/pods/priv?gracePeriodSeconds=0`);
    await waitUntil("priv is gone from the report", 30_000, async () => {
      const now = failing(await report(WG, ns));
      return !now.includes("pss-privileged priv") && now.includes("pss-privileged priv2");
    });
  });

  it("re-evaluates when a ValidatingAdmissionPolicy appears and when its param object changes", async () => {
    const vap = `${ns}-require-label`;
    await send("POST", `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: "required-label" },
      data: { label: "team" },
    });
    await send("POST", `${ADM}/validatingadmissionpolicies`, {
      metadata: { name: vap },
      spec: {
        failurePolicy: "Fail",
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ["apps"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["deployments"],
            },
          ],
        },
        validations: [
          {
            expression: "params.data.label in object.metadata.?labels.orValue({})",
            messageExpression: "'deployments must have the label ' + params.data.label",
          },
        ],
      },
    });
    cleanup.push(`${ADM}/validatingadmissionpolicies/${vap}`);
    await send("POST", `${ADM}/validatingadmissionpolicybindings`, {
      metadata: { name: vap },
      spec: {
        policyName: vap,
        validationActions: ["Deny"],
        paramRef: { name: "required-label", namespace: ns, parameterNotFoundAction: "Deny" },
        matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } },
      },
    });
    cleanup.push(`${ADM}/validatingadmissionpolicybindings/${vap}`);
    await waitUntil("the cluster VAP's finding is reported", 30_000, async () => {
      const now = failing(await report(WG, ns));
      return now.includes(`${vap} unlabeled`) && !now.includes(`${vap} hostnet`);
    });
    // The param object changes: now every deployment lacks the label.
    await send("PUT", `/api/v1/namespaces/${ns}/configmaps/required-label`, {
      metadata: { name: "required-label" },
      data: { label: "tier" },
    });
    await waitUntil("the changed param is applied", 30_000, async () => {
      const now = failing(await report(WG, ns));
      return now.includes(`${vap} unlabeled`) && now.includes(`${vap} hostnet`);
    });
    const messages = (await report(WG, ns))?.results
      .filter((r) => r.policy === vap && r.result === "fail")
      .map((r) => r.message);
    expect(messages).toHaveLength(2);
    for (const message of messages ?? []) expect(message).toMatch(/^deployments must have the label tier\b/);
  });

  it("writes nothing when nothing changed, though every resync re-checks", async () => {
    const running = controller as RunningController;
    // Let the last change settle.
    await new Promise((r) => setTimeout(r, 1500));
    const before = [await report(WG, ns), await report(OPEN, ns)].map((r) => r?.metadata.resourceVersion);
    const writes = async () =>
      (await running.metric("belay_controller_reports_total", { action: "created" })) +
      (await running.metric("belay_controller_reports_total", { action: "updated" }));
    const written = await writes();
    const unchanged = await running.metric("belay_controller_reports_total", { action: "unchanged" });
    // --resync 2s: wait for two more resyncs, each comparing with the cluster's reports.
    await waitUntil(
      "two resyncs compared the reports",
      20_000,
      async () =>
        (await running.metric("belay_controller_reports_total", { action: "unchanged" })) >= unchanged + 4,
    );
    expect(await writes()).toBe(written);
    const after = [await report(WG, ns), await report(OPEN, ns)].map((r) => r?.metadata.resourceVersion);
    expect(after).toEqual(before);
    expect(running.log()).toContain('"msg":"resync"');
  });

  it("splits a report too big for one object into parts and deletes leftover parts", async () => {
    const kc = await loadKubeConfig({ KUBECONFIG: kubeconfig() });
    if (!kc.ok) throw new Error(kc.error.message);
    const kube = makeKubeClient(kc.value);
    const target = await createTestNamespace(await adminKubeConfig(), "split");
    const findings = (n: number): Finding[] =>
      Array.from({ length: n }, (_, i) => ({
        ruleId: "pss-privileged",
        status: "fail",
        severity: "high",
        title: "Privileged",
        message: `container "app" must not set securityContext.privileged=true (${i})`,
        resource: {
          apiVersion: "v1",
          kind: "Pod",
          namespace: target,
          name: `pod-${String(i).padStart(4, "0")}`,
        },
        path: "spec.containers[0].securityContext.privileged",
        remediation: "Fix it.",
        frameworks: {},
      }));
    const build = (n: number) => {
      const built = buildPolicyReports(findings(n), {
        namespaces: [target],
        cluster: false,
        now: new Date(),
      }).namespaced.get(target);
      if (!built) throw new Error("no report");
      return built;
    };
    const names = async (path: string) =>
      (
        (await send("GET", `${path}?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dbelay`)) as {
          items: StoredReport[];
        }
      ).items
        .map((i) => `${i.metadata.name}:${i.summary.fail}`)
        .sort();
    try {
      const options = { apis: ["wgpolicyk8s", "openreports"] as const, maxBytes: 30_000 };
      const first = await writeReport(kube, build(400), { ...options, apis: [...options.apis] });
      const parts = first.filter((o) => o.kind === "PolicyReport");
      expect(parts.length).toBeGreaterThan(2);
      expect(first.every((o) => o.action === "created")).toBe(true);
      const wgParts = await names(`${WG}/namespaces/${target}/policyreports`);
      expect(wgParts.map((n) => n.split(":")[0]).sort()).toEqual(
        parts.map((_, i) => (i === 0 ? "belay" : `belay-${i + 1}`)).sort(),
      );
      expect(wgParts.reduce((sum, n) => sum + Number(n.split(":")[1]), 0)).toBe(400);
      expect(await names(`${OPEN}/namespaces/${target}/reports`)).toEqual(wgParts);
      for (const name of wgParts.map((n) => n.split(":")[0])) {
        const stored = await send("GET", `${WG}/namespaces/${target}/policyreports/${name}`);
        expect(Buffer.byteLength(JSON.stringify({ ...stored, metadata: {} }))).toBeLessThanOrEqual(30_000);
      }

      const again = await writeReport(kube, build(400), { ...options, apis: [...options.apis] });
      expect(again.every((o) => o.action === "unchanged")).toBe(true);

      const shrunk = await writeReport(kube, build(10), { ...options, apis: [...options.apis] });
      expect(shrunk.filter((o) => o.action === "updated").map((o) => `${o.kind} ${o.name}`)).toEqual([
        "PolicyReport belay",
        "Report belay",
      ]);
      expect(shrunk.filter((o) => o.action === "deleted")).toHaveLength(2 * (parts.length - 1));
      expect(await names(`${WG}/namespaces/${target}/policyreports`)).toEqual(["belay:10"]);
      expect(await names(`${OPEN}/namespaces/${target}/reports`)).toEqual(["belay:10"]);
    } finally {
      kube.close();
    }
  });

  it("elects one leader of two replicas; the standby writes nothing and takes over when the leader stops", async () => {
    const target = await createTestNamespace(await adminKubeConfig(), "lead");
    await send("POST", `/api/v1/namespaces/${target}/pods`, pod("priv", true));
    const lease = `belay-controller-${target}`;
    const args = [
      "-n",
      target,
      "--rules",
      RULES,
      "--lease-namespace",
      target,
      "--lease-name",
      lease,
      "--report-api",
      "wgpolicyk8s",
    ];
    const timing = {
      lease: { durationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 },
      debounceMs: 200,
    };
    const a = await startController(args, kubeconfig(), { ...timing, identity: "replica-a" });
    const b = await startController(args, kubeconfig(), { ...timing, identity: "replica-b" });
    const running = [a, b];
    try {
      await waitUntil(
        "one replica leads",
        20_000,
        async () =>
          (await a.metric("belay_controller_leader")) + (await b.metric("belay_controller_leader")) === 1,
      );
      const aLeads = (await a.metric("belay_controller_leader")) === 1;
      const [leader, standby] = aLeads ? [a, b] : [b, a];
      await waitUntil("the leader is synced", 30_000, async () => (await leader.readyz()) === 200);
      expect(await standby.readyz()).toBe(200);
      const held = (await send(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${target}/leases/${lease}`,
      )) as {
        spec: { holderIdentity: string; leaseDurationSeconds: number };
      };
      expect(held.spec.holderIdentity).toBe(aLeads ? "replica-a" : "replica-b");
      expect(held.spec.leaseDurationSeconds).toBe(4);
      expect(failing(await report(WG, target))).toEqual([
        `namespace-no-default-deny ${target}`,
        `namespace-no-default-deny ${target}`,
        "pss-privileged priv",
      ]);
      // The standby neither evaluates nor writes.
      expect(await standby.metric("belay_controller_reports_total")).toBe(0);
      expect(await standby.metric("belay_controller_evaluations_total")).toBe(0);
      expect(await leader.metric("belay_controller_reports_total", { action: "created" })).toBe(1);

      // The leader stops (SIGTERM): it releases the lease and the standby takes over at once.
      expect(await leader.stop()).toBe(0);
      running.splice(running.indexOf(leader), 1);
      const released = (await send(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${target}/leases/${lease}`,
      )) as {
        spec: { holderIdentity?: string };
      };
      expect(released.spec.holderIdentity ?? "").not.toBe(aLeads ? "replica-a" : "replica-b");
      await waitUntil(
        "the standby leads",
        5_000,
        async () => (await standby.metric("belay_controller_leader")) === 1,
      );
      await send("POST", `/api/v1/namespaces/${target}/pods`, pod("priv-late", true));
      await waitUntil("the new leader reports the new pod", 30_000, async () =>
        failing(await report(WG, target)).includes("pss-privileged priv-late"),
      );
      expect(
        await standby.metric("belay_controller_reports_total", { action: "updated" }),
      ).toBeGreaterThanOrEqual(1);
      expect(leader.log()).toContain('"msg":"stopped leading"');
    } finally {
      for (const c of running) await c.stop();
    }
  });

  it("runs as a real process: ready, metrics, and on SIGTERM it releases the lease and exits 0", async () => {
    const target = await createTestNamespace(await adminKubeConfig(), "proc");
    const lease = "belay-controller";
    const root = new URL("../..", import.meta.url).pathname;
    // The CLI from source through Node's type stripping (dist/ is built by the unit project).
    const child = spawn(
      `${root}node_modules/.bin/node`,
      [
        "--input-type=module",
        "-e",
        `const { main } = await import(${JSON.stringify(`${root}src/cli/main.ts`)}); process.exitCode = await main(process.argv.slice(1));`,
        "controller",
        ...["-n", target, "--rules", RULES, "--report-api", "wgpolicyk8s"],
        ...["--lease-namespace", target, "--metrics-port", "0"],
      ],
      { env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig() }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitUntil("the process leads and is synced", 60_000, async () =>
        stderr.includes('"msg":"synced'),
      );
      const port = Number(/"address":"127\.0\.0\.1:(\d+)"/.exec(stderr)?.[1]);
      const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(
        "belay_controller_leader 1",
      );
      expect(failing(await report(WG, target))).toContain(`namespace-no-default-deny ${target}`);
      const held = (await send(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${target}/leases/${lease}`,
      )) as {
        spec: { holderIdentity: string };
      };
      expect(held.spec.holderIdentity).not.toBe("");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const released = (await send(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${target}/leases/${lease}`,
      )) as {
        spec: { holderIdentity?: string };
      };
      expect(released.spec.holderIdentity ?? "").toBe("");
      expect(stderr).toContain('"msg":"received SIGTERM; stopping"');
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("reloads the --policy files when they change, and keeps the last good version of a broken one", async () => {
    const target = await createTestNamespace(await adminKubeConfig(), "pol");
    await send("POST", `/apis/apps/v1/namespaces/${target}/deployments`, deployment("web", {}));
    const dir = await mkdtemp(join(tmpdir(), "belay-ctrl-policy-"));
    const file = join(dir, "policy.yaml");
    const policy = (message: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: require-owner }
spec:
  matchConstraints:
    resourceRules:
      - { apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments] }
  validations:
    - expression: "'owner' in object.metadata.?labels.orValue({})"
      message: ${JSON.stringify(message)}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: require-owner }
spec:
  policyName: require-owner
  validationActions: [Deny]
`;
    await writeFile(file, policy("deployments need an owner label"));
    const running = await startController(
      [
        "-n",
        target,
        "--rules",
        "pss-privileged",
        "--policy",
        file,
        "--leader-elect=false",
        "--report-api",
        "wgpolicyk8s",
      ],
      kubeconfig(),
      { debounceMs: 200, policyPollMs: 300 },
    );
    const message = async () =>
      (await report(WG, target))?.results.find((r) => r.policy === "require-owner" && r.result === "fail")
        ?.message;
    try {
      await waitUntil(
        "the --policy finding is reported",
        30_000,
        async () => (await message())?.startsWith("deployments need an owner label") ?? false,
      );
      await writeFile(file, policy("set metadata.labels.owner"));
      await waitUntil(
        "the changed --policy file is applied",
        30_000,
        async () => (await message())?.startsWith("set metadata.labels.owner") ?? false,
      );
      const before = (await report(WG, target))?.metadata.resourceVersion;
      await writeFile(
        file,
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: broken}\nspec: {validations: [{expression: 'nope('}]}\n",
      );
      await waitUntil("the broken file is refused", 30_000, async () =>
        running.log().includes('"msg":"invalid --policy file; keeping the previous version"'),
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect((await report(WG, target))?.metadata.resourceVersion).toBe(before);
      expect(await message()).toMatch(/^set metadata\.labels\.owner/);
    } finally {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a standby takes over a crashed leader's lease once it expires, not before", async () => {
    const target = await createTestNamespace(await adminKubeConfig(), "crash");
    const lease = "belay-controller";
    const args = ["-n", target, "--rules", RULES, "--lease-namespace", target, "--report-api", "wgpolicyk8s"];
    const lease4s = { durationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 300 };
    // The first replica "crashes": it stops without releasing its lease.
    const crashing = await startController(args, kubeconfig(), {
      identity: "crashing",
      lease: { ...lease4s, releaseOnStop: false },
      debounceMs: 200,
    });
    await waitUntil(
      "the first replica leads",
      20_000,
      async () => (await crashing.metric("belay_controller_leader")) === 1,
    );
    const standby = await startController(args, kubeconfig(), {
      identity: "standby",
      lease: lease4s,
      debounceMs: 200,
    });
    try {
      await crashing.stop();
      const stoppedAt = Date.now();
      const holder = async () =>
        (
          (await send("GET", `/apis/coordination.k8s.io/v1/namespaces/${target}/leases/${lease}`)) as {
            spec: { holderIdentity?: string };
          }
        ).spec.holderIdentity;
      expect(await holder()).toBe("crashing");
      await waitUntil(
        "the standby leads",
        15_000,
        async () => (await standby.metric("belay_controller_leader")) === 1,
      );
      // It had to see the lease unrenewed for its whole duration (4 s) first.
      // (A released lease is taken within a retry period, 0.3 s; margin for a loaded machine.)
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(2500);
      expect(await holder()).toBe("standby");
      await waitUntil("the new leader wrote the report", 30_000, async () =>
        failing(await report(WG, target)).includes(`namespace-no-default-deny ${target}`),
      );
    } finally {
      await standby.stop();
    }
  });
});
