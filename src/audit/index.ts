export * from "./policy-report.ts";
export * from "./run.ts";
export * from "./summary.ts";
export * from "./write.ts";
