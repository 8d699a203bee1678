export * from "./client.ts";
export * from "./lease.ts";
export * from "./list.ts";
export * from "./watch.ts";
