/**
 * RBAC analysis (DESIGN.md C6): a pure model of Roles, ClusterRoles and bindings that answers
 * like kube-apiserver's authorizer, who-can, effective permissions, risky grants and diffs.
 * No I/O: the CLI reads manifests or a cluster and passes objects in.
 */
export * from "./aggregate.ts";
export * from "./authorizer.ts";
export * from "./catalog.ts";
export * from "./covers.ts";
export * from "./diff.ts";
export * from "./entries.ts";
export * from "./match.ts";
export * from "./read.ts";
export * from "./risks.ts";
export * from "./types.ts";
