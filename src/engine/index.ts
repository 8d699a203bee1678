export * from "./context.ts";
export * from "./evaluate.ts";
