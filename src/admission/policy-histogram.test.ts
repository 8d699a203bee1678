import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { OneLabelHistogram } from "./policy-histogram.ts";

const options = {
  name: "belay_test_seconds",
  help: "Test histogram.",
  buckets: [0.00001, 0.0001, 0.001, 0.01],
};

describe("OneLabelHistogram", () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const reference = new Registry();
    const theirs = new Histogram({ ...options, labelNames: ["policy"], registers: [reference] });
    const registry = new Registry();
    const ours = new OneLabelHistogram({ ...options, labelName: "policy" });
    registry.registerMetric(ours as never);
    // Bounds themselves fall in their bucket (le), values above the last in +Inf only.
    const observations: [string, number][] = [
      ["a", 0.000005],
      ["a", 0.00001],
      ["a", 0.0005],
      ["b", 0.02],
      ["a", 0.001],
      ["b", 0],
      ["c", 0.01],
    ];
    for (const [policy, value] of observations) {
      theirs.observe({ policy }, value);
      ours.observe(policy, value);
    }
    expect(await registry.metrics()).toBe(await reference.metrics());
    expect(await registry.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
  });

  it("starts empty again after a reset", async () => {
    const registry = new Registry();
    const ours = new OneLabelHistogram({ ...options, labelName: "policy" });
    registry.registerMetric(ours as never);
    ours.observe("a", 1);
    registry.resetMetrics();
    expect(await registry.metrics()).toBe(
      "# HELP belay_test_seconds Test histogram.\n# TYPE belay_test_seconds histogram\n",
    );
  });

  it("refuses buckets that are not ascending", () => {
    expect(() => new OneLabelHistogram({ ...options, labelName: "p", buckets: [1, 1] })).toThrow(
      "belay_test_seconds: buckets must be ascending",
    );
  });
});
