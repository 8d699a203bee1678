export * from "./apply.ts";
export * from "./check.ts";
export * from "./crds.ts";
export * from "./manifests.ts";
export * from "./pki.ts";
