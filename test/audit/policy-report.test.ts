import { describe, expect, it } from "vitest";
import {
  auditSummary,
  buildPolicyReports,
  renderAuditSummary,
  sameReportContent,
} from "../../src/audit/index.ts";
import type { Finding, Status } from "../../src/findings/finding.ts";

function finding(ruleId: string, status: Status, kind: string, name: string, namespace?: string): Finding {
  return {
    ruleId,
    status,
    severity: "high",
    title: ruleId,
    message: `${ruleId} on ${name}`,
    resource: { apiVersion: "v1", kind, name, ...(namespace !== undefined ? { namespace } : {}) },
    path: status === "fail" ? "spec.containers[0].securityContext.privileged" : "",
    remediation: "Fix it.",
    frameworks: ruleId.startsWith("pss-")
      ? { pss: { level: "baseline", check: "privileged" }, cis: ["5.2.2"], mitre: ["T1611"] }
      : {},
  };
}

const NOW = new Date("2025-01-02T03:04:05.678Z");

describe("buildPolicyReports", () => {
  const findings = [
    finding("pss-privileged", "fail", "Pod", "priv", "team-a"),
    finding("pss-privileged", "pass", "Pod", "ok", "team-a"),
    finding("my-vap", "warn", "Deployment", "web", "team-a"),
    finding("rbac-wildcard", "fail", "ClusterRole", "star"),
    finding("pss-privileged", "skip", "Pod", "ignored", "team-b"),
    finding("pss-privileged", "fail", "Pod", "elsewhere", "not-audited"),
    finding("namespace-no-default-deny", "fail", "Namespace", "team-b"),
  ];
  const reports = buildPolicyReports(findings, {
    namespaces: ["team-b", "team-a", "empty"],
    cluster: true,
    now: NOW,
    uids: new Map([["Pod/team-a/priv", "uid-1"]]),
  });

  it("builds one PolicyReport per audited namespace, empty ones included", () => {
    expect([...reports.namespaced.keys()]).toEqual(["empty", "team-a", "team-b"]);
    expect(reports.namespaced.get("empty")).toEqual({
      apiVersion: "wgpolicyk8s.io/v1alpha2",
      kind: "PolicyReport",
      metadata: { name: "belay", namespace: "empty", labels: { "app.kubernetes.io/managed-by": "belay" } },
      summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 },
      results: [],
    });
  });

  it("counts every result status in the summary", () => {
    expect(reports.namespaced.get("team-a")?.summary).toEqual({
      pass: 1,
      fail: 1,
      warn: 1,
      error: 0,
      skip: 0,
    });
    expect(reports.namespaced.get("team-b")?.summary).toEqual({
      pass: 0,
      fail: 1,
      warn: 0,
      error: 0,
      skip: 1,
    });
  });

  it("writes results with resources, framework properties, category and timestamp", () => {
    const result = reports.namespaced.get("team-a")?.results.find((r) => r.result === "fail");
    expect(result).toEqual({
      source: "belay",
      policy: "pss-privileged",
      rule: "pss-privileged",
      result: "fail",
      severity: "high",
      category: "Pod Security Standards (baseline)",
      message: "pss-privileged on priv",
      resources: [{ apiVersion: "v1", kind: "Pod", namespace: "team-a", name: "priv", uid: "uid-1" }],
      properties: {
        pss: "baseline/privileged",
        cis: "5.2.2",
        mitre: "T1611",
        path: "spec.containers[0].securityContext.privileged",
      },
      timestamp: { seconds: 1735787045, nanos: 0 },
    });
    const vap = reports.namespaced.get("team-a")?.results.find((r) => r.policy === "my-vap");
    expect(vap?.category).toBe("Policy");
    expect(vap?.properties).toBeUndefined();
  });

  it("puts a Namespace's own findings in its PolicyReport", () => {
    expect(reports.namespaced.get("team-b")?.results.map((r) => r.policy)).toEqual([
      "namespace-no-default-deny",
      "pss-privileged",
    ]);
  });

  it("puts cluster-scoped objects in the ClusterPolicyReport and leaves out unaudited namespaces", () => {
    expect(reports.cluster?.kind).toBe("ClusterPolicyReport");
    expect(reports.cluster?.metadata).toEqual({
      name: "belay-cluster",
      labels: { "app.kubernetes.io/managed-by": "belay" },
    });
    expect(reports.cluster?.results.map((r) => r.resources[0]?.name)).toEqual(["star"]);
    const all = [...reports.namespaced.values()].flatMap((r) => r.results);
    expect(all.some((r) => r.resources[0]?.namespace === "not-audited")).toBe(false);
  });

  it("builds no cluster report when cluster-scoped objects were not audited", () => {
    expect(
      buildPolicyReports(findings, { namespaces: [], cluster: false, now: NOW }).cluster,
    ).toBeUndefined();
  });

  it("is deterministic whatever the order of findings", () => {
    const again = buildPolicyReports([...findings].reverse(), {
      namespaces: ["team-a", "team-b", "empty"],
      cluster: true,
      now: NOW,
      uids: new Map([["Pod/team-a/priv", "uid-1"]]),
    });
    expect(again).toEqual(reports);
  });
});

describe("sameReportContent", () => {
  const build = (now: Date) =>
    buildPolicyReports([finding("pss-privileged", "fail", "Pod", "priv", "a")], {
      namespaces: ["a"],
      cluster: false,
      now,
    }).namespaced.get("a") as NonNullable<ReturnType<typeof buildPolicyReports>["cluster"]>;

  it("ignores timestamps, metadata and key order", () => {
    const a = build(NOW);
    const b = build(new Date("2030-01-01T00:00:00Z"));
    const stored = JSON.parse(JSON.stringify({ ...b, metadata: { resourceVersion: "7", name: "belay" } }));
    stored.results[0] = Object.fromEntries(Object.entries(stored.results[0]).reverse());
    expect(sameReportContent(stored, a)).toBe(true);
  });

  it("sees a changed result or summary", () => {
    const a = build(NOW);
    expect(sameReportContent({ ...a, summary: { ...a.summary, fail: 2 } }, a)).toBe(false);
    expect(sameReportContent({ ...a, results: [] }, a)).toBe(false);
    expect(sameReportContent({}, a)).toBe(false);
  });

  it("treats a missing summary count as zero", () => {
    const empty = buildPolicyReports([], { namespaces: ["a"], cluster: false, now: NOW }).namespaced.get("a");
    expect(sameReportContent({ summary: {}, results: [] }, empty ?? {})).toBe(true);
  });
});

describe("auditSummary", () => {
  it("counts fail and warn per namespace and rule", () => {
    const findings = [
      finding("pss-privileged", "fail", "Pod", "a", "ns1"),
      finding("pss-privileged", "pass", "Pod", "b", "ns1"),
      finding("my-vap", "warn", "Deployment", "c", "ns2"),
      finding("rbac-wildcard", "fail", "ClusterRole", "d"),
      finding("namespace-no-default-deny", "fail", "Namespace", "ns2"),
    ];
    expect(auditSummary(findings)).toEqual({
      namespaces: [
        { key: "(cluster)", fail: 1, warn: 0 },
        { key: "ns1", fail: 1, warn: 0 },
        { key: "ns2", fail: 1, warn: 1 },
      ],
      rules: [
        { key: "my-vap", fail: 0, warn: 1 },
        { key: "namespace-no-default-deny", fail: 1, warn: 0 },
        { key: "pss-privileged", fail: 1, warn: 0 },
        { key: "rbac-wildcard", fail: 1, warn: 0 },
      ],
    });
    expect(renderAuditSummary(findings)).toContain("NAMESPACE  FAIL  WARN");
    expect(renderAuditSummary([])).toBe("");
  });
});
