export * from "./context.ts";
export * from "./evaluate.ts";
export * from "./make-finding.ts";
export * from "./policies.ts";
