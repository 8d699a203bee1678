export * from "./client.ts";
export * from "./list.ts";
