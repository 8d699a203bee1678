/**
 * rbac-dangerous-verbs
 *
 * Field: `rules[*].verbs[*]` of Roles and ClusterRoles (`rbac.authorization.k8s.io`).
 * Disallowed values, when the rule covers the resources they act on:
 *   - `escalate` and `bind` on `roles`/`clusterroles` (or `*`) in apiGroups
 *     `rbac.authorization.k8s.io` (or `*`): grant permissions the subject does not hold;
 *   - `impersonate` on `users`, `groups`, `serviceaccounts`, `uids`, `userextras/…` (or `*`)
 *     in apiGroups `""`, `authentication.k8s.io` (or `*`): act as another identity.
 * A `*` verb is `rbac-wildcard`'s. Rules limited by `resourceNames` are allowed (they name
 * the roles or identities they act on). One violation per verb entry. Bootstrap and
 * aggregated roles are not checked.
 */
import {
  type EntryRule,
  grantingAnySubresource,
  grantingResources,
  grantsGroup,
} from "../../rbac/entries.ts";
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { policyRules, roleLabel } from "./lib/rbac.ts";

interface DangerousVerb {
  groups: readonly string[];
  /** Whether the rule's resources include one the verb acts on (RBAC's own matching). */
  covers(rule: EntryRule): boolean;
  why: string;
}

const ROLE_RESOURCES = [["roles"], ["clusterroles"]] as const;
const IDENTITY_RESOURCES = [["users"], ["groups"], ["serviceaccounts"], ["uids"]] as const;

const DANGEROUS_VERBS: ReadonlyMap<string, DangerousVerb> = new Map([
  [
    "escalate",
    {
      groups: ["rbac.authorization.k8s.io"],
      covers: (rule: EntryRule) => grantingResources(rule, ROLE_RESOURCES).length > 0,
      why: "lets it write roles with permissions it does not hold",
    },
  ],
  [
    "bind",
    {
      groups: ["rbac.authorization.k8s.io"],
      covers: (rule: EntryRule) => grantingResources(rule, ROLE_RESOURCES).length > 0,
      why: "lets it bind roles with permissions it does not hold",
    },
  ],
  [
    "impersonate",
    {
      groups: ["", "authentication.k8s.io"],
      covers: (rule: EntryRule) =>
        grantingResources(rule, IDENTITY_RESOURCES).length > 0 ||
        grantingAnySubresource(rule, "userextras").length > 0,
      why: "lets it act as other users, groups or service accounts",
    },
  ],
]);

function appliesTo(rule: EntryRule, verb: DangerousVerb): boolean {
  return grantsGroup(rule, verb.groups) && verb.covers(rule);
}

/** Roles must not grant escalate, bind or impersonate. */
export const rbacDangerousVerbs: Rule = defineRule({
  meta: {
    id: "rbac-dangerous-verbs",
    title: "Role grants escalate, bind or impersonate",
    severity: "high",
    description:
      "escalate and bind bypass RBAC's privilege escalation prevention: a subject holding them can grant itself, or bind " +
      "itself to, any role, up to cluster-admin. impersonate lets a subject act as any user, group or service account it " +
      "names. Each is equivalent to the highest permission reachable through it.",
    remediation:
      "Remove the escalate, bind and impersonate verbs, or limit them with resourceNames to the exact roles or identities required.",
    frameworks: {
      cis: ["5.1.8"],
      nsa: ["Role-based access control"],
      nist: ["4.3.1"],
      mitre: ["T1078", "T1098"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const violations: Violation[] = [];
    for (const rule of policyRules(resource)) {
      if (rule.resourceNames.length > 0) continue;
      for (const entry of rule.verbs) {
        const verb = DANGEROUS_VERBS.get(entry.value);
        if (verb === undefined || !appliesTo(rule, verb)) continue;
        violations.push({
          path: [...rule.path, "verbs", entry.index],
          message: `${roleLabel(resource)} rules[${rule.index}] grants "${entry.value}", which ${verb.why}`,
        });
      }
    }
    return violations;
  },
});
