import { describe, expect, test } from "vitest";
import { type ClusterReport, renderClusters } from "./clusters.ts";
import { OUTPUT_FORMATS, render } from "./index.ts";
import { clusterChunks, reportChunks } from "./stream.ts";
import { emptyReport, sampleReport } from "./test-support.ts";

function collect(pieces: Iterable<string>): { text: string; chunks: number } {
  const chunks = [...pieces];
  return { text: chunks.join(""), chunks: chunks.length };
}

const CLUSTERS: ClusterReport[] = [
  { cluster: "prod", server: "https://10.0.0.1:6443", report: sampleReport() },
  { cluster: "staging", server: "https://10.0.0.2:6443", report: emptyReport() },
  { cluster: "lab", server: "https://127.0.0.1:1", error: "connect ECONNREFUSED" },
];

describe("reportChunks", () => {
  test.each(OUTPUT_FORMATS)("%s pieces concatenate to render()", (format) => {
    for (const report of [sampleReport(), emptyReport()]) {
      expect(collect(reportChunks(format, report)).text).toBe(render(format, report));
    }
  });

  test("json is written finding by finding, not as one string", () => {
    const { chunks } = collect(reportChunks("json", sampleReport()));
    expect(chunks).toBeGreaterThan(sampleReport().findings.length);
  });
});

describe("clusterChunks", () => {
  test.each(["table", "json", "yaml", "sarif", "junit", "html"] as const)(
    "%s pieces concatenate to renderClusters()",
    (format) => {
      expect(collect(clusterChunks(format, CLUSTERS, "0.1.0")).text).toBe(
        renderClusters(format, CLUSTERS, "0.1.0"),
      );
    },
  );
});
