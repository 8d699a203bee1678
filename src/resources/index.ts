export * from "./locate.ts";
export * from "./parse.ts";
export * from "./path.ts";
export * from "./pod-spec.ts";
export * from "./selectors.ts";
export * from "./types.ts";
