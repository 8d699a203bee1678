export * from "./controller.ts";
export type { ControllerMetrics } from "./controller-metrics.ts";
export * from "./open-reports.ts";
export * from "./policy-report.ts";
export * from "./run.ts";
export * from "./summary.ts";
export * from "./write.ts";
