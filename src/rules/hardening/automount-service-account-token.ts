/**
 * automount-service-account-token
 *
 * Field: `automountServiceAccountToken` of pod templates that run as the `default` service
 * account (`serviceAccountName`/`serviceAccount` unset or `default`).
 * Allowed values: `false`. Unset passes only when a ServiceAccount `default` among the
 * scanned resources in the same namespace sets `automountServiceAccountToken: false` (the
 * pod inherits it); `true` always fails. Pods with their own service account are not
 * checked: they were given an identity on purpose.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { byNamespace } from "./lib/memo.ts";
import { namespaceKey } from "./lib/objects.ts";
import { podsLabel, serviceAccountOf, specOf } from "./lib/pods.ts";

/** Pods running as the default service account must not mount its API token. */
export const automountServiceAccountToken: Rule = podRule(
  {
    id: "automount-service-account-token",
    title: "Default service account token is mounted",
    severity: "medium",
    description:
      "Every pod gets an API token for its service account unless automounting is turned off. A pod that runs as the default " +
      "service account rarely needs the API, yet an attacker who gets into it can use the token against the API server with " +
      "whatever the namespace's default account has been granted.",
    remediation:
      "Set automountServiceAccountToken to false in the pod spec, or on the namespace's default ServiceAccount.",
    frameworks: {
      cis: ["5.1.6"],
      nsa: ["Protecting Pod service account tokens"],
      nist: ["4.3.2"],
      mitre: ["T1528", "T1552.007"],
    },
    profiles: ["hardening"],
  },
  (template, context, resource) => {
    if (serviceAccountOf(template) !== "default") return [];
    const setting = specOf(template).automountServiceAccountToken;
    if (setting === false) return [];
    if (setting === undefined || setting === null) {
      const namespace = namespaceKey(resource);
      const accountOptsOut = (byNamespace(context, "ServiceAccount").get(namespace) ?? []).some(
        (account) => account.ref.name === "default" && account.object.automountServiceAccountToken === false,
      );
      if (accountOptsOut) return [];
    }
    return [
      {
        path: [...template.specPath, "automountServiceAccountToken"],
        message:
          setting === true
            ? `${podsLabel(resource)} runs as the "default" service account with automountServiceAccountToken=true`
            : `${podsLabel(resource)} runs as the "default" service account and does not set automountServiceAccountToken=false`,
      },
    ];
  },
);
