/**
 * service-external-ips
 *
 * Field: `spec.externalIPs[*]` of every Service (`v1`). Any entry fails, one violation each.
 */
import { defineRule, type Rule } from "../rule.ts";
import { objectLabel, stringEntries } from "./lib/objects.ts";
import { serviceSpec } from "./lib/services.ts";

/** Services must not claim external IPs. */
export const serviceExternalIps: Rule = defineRule({
  meta: {
    id: "service-external-ips",
    title: "Service sets externalIPs",
    severity: "medium",
    description:
      "Whoever can create a Service with spec.externalIPs makes every node route traffic for those addresses to their pods, " +
      "so they can intercept traffic meant for any IP, inside or outside the cluster (CVE-2020-8554). The field is rarely " +
      "needed and is best blocked by admission policy; LoadBalancer Services or an ingress controller cover the legitimate uses.",
    remediation:
      "Remove spec.externalIPs and expose the Service through a LoadBalancer, an Ingress or a Gateway.",
    frameworks: {
      nsa: ["Network separation and hardening"],
      nist: ["4.3.3"],
      mitre: ["T1557"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const spec = serviceSpec(resource);
    if (!spec) return [];
    return stringEntries(spec.externalIPs).map((entry) => ({
      path: ["spec", "externalIPs", entry.index],
      message: `${objectLabel(resource)} claims external IP "${entry.value}" in spec.externalIPs`,
    }));
  },
});
