export * from "./describe.ts";
export * from "./finding.ts";
export * from "./frameworks.ts";
