import { describe, expect, it } from "vitest";
import {
  auditSummary,
  buildPolicyReports,
  MAX_REPORT_BYTES,
  parseReportApi,
  renderAuditSummary,
  reportPartIndex,
  reportPartName,
  sameReportContent,
  splitReport,
  toOpenReport,
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

describe("splitReport", () => {
  const many = (n: number, namespace = "big") =>
    buildPolicyReports(
      Array.from({ length: n }, (_, i) =>
        finding(
          "pss-privileged",
          i % 3 === 0 ? "pass" : "fail",
          "Pod",
          `pod-${String(i).padStart(5, "0")}`,
          namespace,
        ),
      ),
      { namespaces: [namespace], cluster: false, now: NOW },
    ).namespaced.get(namespace) as NonNullable<ReturnType<typeof buildPolicyReports>["cluster"]>;

  it("returns a report that fits as its only part", () => {
    const report = many(10);
    expect(splitReport(report)).toEqual([report]);
  });

  it("splits into belay, belay-2, … each under the limit, with per-part summaries that add up", () => {
    const report = many(3000);
    const size = Buffer.byteLength(JSON.stringify(report));
    expect(size).toBeGreaterThan(200_000);
    const parts = splitReport(report, 200_000);
    expect(parts.length).toBeGreaterThanOrEqual(Math.ceil(size / 200_000));
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(size / 200_000) + 1);
    expect(parts.map((p) => p.metadata.name)).toEqual(
      parts.map((_, i) => (i === 0 ? "belay" : `belay-${i + 1}`)),
    );
    for (const part of parts) {
      expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(200_000);
      expect(part.metadata.namespace).toBe("big");
      expect(part.summary.fail + part.summary.pass).toBe(part.results.length);
    }
    expect(parts.flatMap((p) => p.results)).toEqual(report.results);
    const total = parts.reduce((sum, p) => sum + p.summary.fail, 0);
    expect(total).toBe(report.summary.fail);
    expect(parts.reduce((sum, p) => sum + p.summary.pass, 0)).toBe(report.summary.pass);
    // The same report splits the same way (no write when unchanged).
    expect(splitReport(many(3000), 200_000)).toEqual(parts);
  });

  it("gives a result bigger than the limit a part of its own", () => {
    const report = many(3);
    const parts = splitReport(report, 10);
    expect(parts.map((p) => p.results.length)).toEqual([1, 1, 1]);
  });

  it("keeps the default limit under etcd's 1.5 MiB request limit", () => {
    expect(MAX_REPORT_BYTES).toBeLessThan(1.5 * 1024 * 1024 * 0.7);
    const parts = splitReport(many(12_000));
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts)
      expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(MAX_REPORT_BYTES);
  });
});

describe("reportPartName and reportPartIndex", () => {
  it("name parts and recognise only belay's own part names", () => {
    expect([0, 1, 2].map((i) => reportPartName("belay", i))).toEqual(["belay", "belay-2", "belay-3"]);
    expect(reportPartIndex("belay", "belay")).toBe(0);
    expect(reportPartIndex("belay", "belay-2")).toBe(1);
    expect(reportPartIndex("belay", "belay-12")).toBe(11);
    for (const name of [
      "belay-1",
      "belay-0",
      "belay-02",
      "belay-cluster",
      "belay-cluster-2",
      "other",
      "belay-",
    ])
      expect(reportPartIndex("belay", name)).toBeUndefined();
    expect(reportPartIndex("belay-cluster", "belay-cluster-2")).toBe(1);
  });
});

describe("OpenReports", () => {
  const reports = buildPolicyReports(
    [
      finding("pss-privileged", "fail", "Pod", "priv", "a"),
      finding("rbac-wildcard", "fail", "ClusterRole", "star"),
    ],
    { namespaces: ["a"], cluster: true, now: NOW },
  );

  it("is the PolicyReport with the openreports.io apiVersion, Report kinds and a source", () => {
    const report = reports.namespaced.get("a");
    if (!report) throw new Error("no report");
    const open = toOpenReport(report);
    expect(open).toEqual({
      apiVersion: "openreports.io/v1alpha1",
      kind: "Report",
      metadata: report.metadata,
      source: "belay",
      summary: report.summary,
      results: report.results,
    });
    expect(sameReportContent(open, report)).toBe(true);
    if (!reports.cluster) throw new Error("no cluster report");
    expect(toOpenReport(reports.cluster).kind).toBe("ClusterReport");
    expect(toOpenReport(reports.cluster).metadata.name).toBe("belay-cluster");
  });

  it("parses --report-api", () => {
    expect(parseReportApi("both")).toEqual(["wgpolicyk8s", "openreports"]);
    expect(parseReportApi("openreports")).toEqual(["openreports"]);
    expect(parseReportApi("wgpolicyk8s")).toEqual(["wgpolicyk8s"]);
    expect(parseReportApi("kyverno")).toBeUndefined();
  });
});
