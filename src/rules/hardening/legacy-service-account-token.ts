/**
 * legacy-service-account-token
 *
 * Field: `type` of every Secret (`v1`).
 * Disallowed value: `kubernetes.io/service-account-token` (a long-lived service account
 * token that the token controller fills in and that never expires).
 */
import { defineRule, type Rule } from "../rule.ts";
import { asObject } from "./lib/objects.ts";

/** Service accounts should use short-lived projected tokens, not token Secrets. */
export const legacyServiceAccountToken: Rule = defineRule({
  meta: {
    id: "legacy-service-account-token",
    title: "Long-lived service account token Secret",
    severity: "medium",
    description:
      "A Secret of type kubernetes.io/service-account-token holds a token that never expires and is not bound to a pod: " +
      "once copied out of the cluster it works until the Secret is deleted. Pods get short-lived, automatically rotated " +
      "projected tokens, and clients outside the cluster can request bounded ones with the TokenRequest API.",
    remediation:
      "Delete the token Secret and use projected service account tokens or the TokenRequest API (kubectl create token) instead.",
    frameworks: {
      nsa: ["Protecting Pod service account tokens"],
      nist: ["4.3.2"],
      mitre: ["T1528"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    if (resource.ref.kind !== "Secret" || resource.ref.apiVersion !== "v1") return [];
    if (resource.object.type !== "kubernetes.io/service-account-token") return [];
    const annotations = asObject(asObject(resource.object.metadata).annotations);
    const account = annotations["kubernetes.io/service-account.name"];
    const forAccount = typeof account === "string" ? ` for service account "${account}"` : "";
    return [
      {
        path: ["type"],
        message: `Secret "${resource.ref.name}" is a long-lived token${forAccount} (type kubernetes.io/service-account-token)`,
      },
    ];
  },
});
