export * from "./finding.ts";
export * from "./frameworks.ts";
export * from "./describe.ts";
