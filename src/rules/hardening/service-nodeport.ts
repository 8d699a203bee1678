/**
 * service-nodeport
 *
 * Field: `spec.type` of every Service (`v1`).
 * Disallowed values: `NodePort`. (LoadBalancer Services are `service-loadbalancer`.)
 */
import { defineRule, type Rule } from "../rule.ts";
import { objectLabel } from "./lib/objects.ts";
import { serviceSpec } from "./lib/services.ts";

/** Services should not open ports on every node. */
export const serviceNodeport: Rule = defineRule({
  meta: {
    id: "service-nodeport",
    title: "Service is exposed on every node (NodePort)",
    severity: "low",
    description:
      "A NodePort Service opens its port on every node of the cluster, on all of the node's addresses, bypassing ingress " +
      "controllers and load balancers where TLS, authentication and rate limits are usually enforced, and widening the " +
      "attack surface of every node.",
    remediation:
      "Use a ClusterIP Service behind an Ingress or Gateway, or a LoadBalancer restricted to known source ranges.",
    frameworks: {
      nsa: ["Network separation and hardening"],
      mitre: ["T1190"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const spec = serviceSpec(resource);
    if (spec?.type !== "NodePort") return [];
    return [
      {
        path: ["spec", "type"],
        message: `${objectLabel(resource)} has spec.type "NodePort" and listens on every node`,
      },
    ];
  },
});
