import { describe, expect, test } from "vitest";
import { type ClusterFormat, type ClusterReport, clustersDocument, renderClusters } from "./clusters.ts";
import { renderJson } from "./json.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";

const FORMATS: [ClusterFormat, string][] = [
  ["json", "clusters.json"],
  ["yaml", "clusters.yaml"],
  ["sarif", "clusters.sarif.json"],
  ["junit", "clusters.junit.xml"],
  ["html", "clusters.html"],
  ["table", "clusters.table.txt"],
];

function clusters(): ClusterReport[] {
  return [
    { cluster: "prod", server: "https://10.0.0.1:6443", report: sampleReport() },
    { cluster: "staging", server: "https://10.0.0.2:6443", report: emptyReport() },
    {
      cluster: "lab",
      server: "https://127.0.0.1:1",
      error:
        'cannot reach the API server of context "lab" (https://127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1',
    },
  ];
}

describe("renderClusters", () => {
  test.each(FORMATS)("%s matches the golden file", (format, file) => {
    const out = renderClusters(format, clusters(), "0.1.0");
    expect(out).toBe(golden(file, out));
    expect(out.endsWith("\n")).toBe(true);
  });

  test("json keeps the single-cluster keys, adds the cluster to every finding and lists every cluster", () => {
    const doc = JSON.parse(renderClusters("json", clusters(), "0.1.0"));
    expect(Object.keys(doc)).toEqual(["findings", "summary", "errors", "clusters"]);
    const single = JSON.parse(renderJson(sampleReport()));
    expect(doc.findings).toEqual(single.findings.map((f: object) => ({ cluster: "prod", ...f })));
    expect(Object.keys(doc.findings[0])[0]).toBe("cluster");
    // Totals over the audited clusters: 6 + 3 resources, the sample's 7 findings.
    expect(doc.summary).toEqual({
      resources: 9,
      findings: 7,
      bySeverity: { critical: 2, high: 2, medium: 1, low: 1, info: 1 },
    });
    expect(doc.clusters.map((c: { name: string; status: string }) => `${c.name} ${c.status}`)).toEqual([
      "prod audited",
      "staging audited",
      "lab failed",
    ]);
    expect(doc.clusters[2].error).toContain("ECONNREFUSED");
    expect(doc.clusters[2].summary).toBeUndefined();
  });

  test("an input error reported by every cluster (the same --policy file) is listed once", () => {
    const doc = clustersDocument([
      { cluster: "a", server: "https://a", report: sampleReport() },
      { cluster: "b", server: "https://b", report: sampleReport() },
    ]);
    expect(doc.errors).toHaveLength(1);
    expect(doc.findings.filter((f) => f.cluster === "b")).toHaveLength(sampleReport().findings.length);
  });

  test("sarif has one run per cluster, kept apart by automationDetails, the unreachable one failed", () => {
    const log = JSON.parse(renderClusters("sarif", clusters(), "0.1.0"));
    expect(log.version).toBe("2.1.0");
    expect(log.runs.map((r: { automationDetails: { id: string } }) => r.automationDetails.id)).toEqual([
      "belay/audit/prod/",
      "belay/audit/staging/",
      "belay/audit/lab/",
    ]);
    expect(log.runs[0].results).toHaveLength(sampleReport().findings.length);
    expect(log.runs[2].invocations[0].executionSuccessful).toBe(false);
    expect(log.runs[2].invocations[0].toolExecutionNotifications[0].message.text).toContain("ECONNREFUSED");
    expect(log.runs[1].properties).toEqual({ cluster: "staging", server: "https://10.0.0.2:6443" });
  });

  test("junit has one suite per cluster with consistent counts", () => {
    const xml = renderClusters("junit", clusters(), "0.1.0");
    const suites = [
      ...xml.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)" errors="(\d+)"/g),
    ].map((m) => m.slice(1).join(" "));
    // prod: the sample's rule cases and its input error; staging: nothing found; lab: one error.
    expect(suites.map((s) => s.split(" ")[0])).toEqual(["prod", "staging", "lab"]);
    expect(suites[0]).toBe("prod 10 7 2");
    expect(suites[2]).toBe("lab 1 0 1");
    expect(suites[1]).toBe("staging 0 0 0");
    expect(xml).toContain('type="cluster-not-audited"');
    const top = /<testsuites name="belay" tests="(\d+)" failures="(\d+)" errors="(\d+)"/.exec(xml);
    const sum = (i: number) => suites.reduce((n, s) => n + Number(s.split(" ")[i]), 0);
    expect(top?.slice(1).map(Number)).toEqual([sum(1), sum(2), sum(3)]);
  });

  test("table heads each cluster's table with its name and says why one was not audited", () => {
    const out = renderClusters("table", clusters(), "0.1.0");
    expect(out).toContain("== cluster prod (https://10.0.0.1:6443)\n");
    expect(out).toContain("== cluster staging (https://10.0.0.2:6443)\nNo findings in 3 resources.\n");
    expect(out).toMatch(/== cluster lab \(https:\/\/127\.0\.0\.1:1\)\nnot audited: .*ECONNREFUSED/);
  });
});
