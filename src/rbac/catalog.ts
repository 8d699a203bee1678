/**
 * The catalog of risky RBAC grants that `belay rbac risks` evaluates: the RBAC rules of the
 * scan registry plus the risk rules of risks.ts, each with the Kubernetes versions it
 * applies to and a version-aware check.
 */
import type { Resource } from "../resources/types.ts";
import { rbacClusterAdminBinding } from "../rules/hardening/rbac-cluster-admin-binding.ts";
import { rbacDangerousVerbs } from "../rules/hardening/rbac-dangerous-verbs.ts";
import { rbacNodesProxy } from "../rules/hardening/rbac-nodes-proxy.ts";
import { rbacPodsExec } from "../rules/hardening/rbac-pods-exec.ts";
import { rbacSecretsAccess } from "../rules/hardening/rbac-secrets-access.ts";
import { rbacWildcard } from "../rules/hardening/rbac-wildcard.ts";
import { defineRule, type Rule, type RuleContext, type Violation } from "../rules/rule.ts";
import {
  type KubeTarget,
  podStreamViolations,
  RBAC_RISK_RULES,
  rbacPodsPortforward,
  WEBSOCKET_CREATE_REQUIRED_FROM_MINOR,
} from "./risks.ts";

/** One risk of the catalog. */
export interface RbacRisk {
  rule: Rule;
  /** Kubernetes versions it applies to, in words (`all`, `v1.0–v1.34 for get; all for create`). */
  versions: string;
  /** The check at a Kubernetes version. */
  check(resource: Resource, context: RuleContext, target: KubeTarget): Violation[];
}

const ALL_VERSIONS = "all";
const STREAM_VERSIONS = `create: all; get: before v1.${WEBSOCKET_CREATE_REQUIRED_FROM_MINOR} (WebSocket upgrade), or where AuthorizePodWebsocketUpgradeCreatePermission is off`;

function plain(rule: Rule): RbacRisk {
  return { rule, versions: ALL_VERSIONS, check: (resource, context) => rule.check(resource, context) };
}

/** Every risk, sorted by id. */
export const RBAC_RISKS: readonly RbacRisk[] = [
  plain(rbacClusterAdminBinding),
  plain(rbacDangerousVerbs),
  plain(rbacNodesProxy),
  {
    rule: rbacPodsExec,
    versions: STREAM_VERSIONS,
    check: (resource: Resource, _context: RuleContext, target: KubeTarget) =>
      podStreamViolations(resource, ["exec", "attach"], "allows running commands in pods", target),
  },
  {
    rule: rbacPodsPortforward,
    versions: STREAM_VERSIONS,
    check: (resource: Resource, _context: RuleContext, target: KubeTarget) =>
      podStreamViolations(resource, ["portforward"], "allows tunnelling to pod ports", target),
  },
  plain(rbacSecretsAccess),
  plain(rbacWildcard),
  ...RBAC_RISK_RULES.filter((rule) => rule !== rbacPodsPortforward).map(plain),
].sort((a, b) => (a.rule.meta.id < b.rule.meta.id ? -1 : 1));

/** The catalog's checks at `target`, as rules for the common engine (`evaluate`). */
export function riskRulesAt(target: KubeTarget): Rule[] {
  return RBAC_RISKS.map((risk) =>
    defineRule({ meta: risk.rule.meta, check: (resource, context) => risk.check(resource, context, target) }),
  );
}
