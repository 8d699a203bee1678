/**
 * service-loadbalancer
 *
 * Fields: `spec.type`, `spec.loadBalancerSourceRanges` of Services (`v1`) with
 * `type: LoadBalancer`.
 * Fails when the load balancer is reachable from anywhere: neither
 * `spec.loadBalancerSourceRanges` nor the annotation
 * `service.beta.kubernetes.io/load-balancer-source-ranges` restricts it (each range equal to
 * `0.0.0.0/0` or `::/0` is reported), and no cloud annotation makes it internal (AWS, Azure,
 * GCP, OCI, IBM, Alibaba, DigitalOcean-style internal/private annotations).
 */
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { asObject, objectLabel, stringEntries } from "./lib/objects.ts";
import { serviceSpec } from "./lib/services.ts";

/** Annotations that make a cloud load balancer internal, with the values that do so. */
const INTERNAL_ANNOTATIONS: readonly [string, (value: string) => boolean][] = [
  ["service.beta.kubernetes.io/aws-load-balancer-internal", (v) => v !== "false" && v !== ""],
  ["service.beta.kubernetes.io/aws-load-balancer-scheme", (v) => v === "internal"],
  ["service.beta.kubernetes.io/azure-load-balancer-internal", (v) => v === "true"],
  ["networking.gke.io/load-balancer-type", (v) => v.toLowerCase() === "internal"],
  ["cloud.google.com/load-balancer-type", (v) => v.toLowerCase() === "internal"],
  ["service.beta.kubernetes.io/oci-load-balancer-internal", (v) => v === "true"],
  ["service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type", (v) => v === "private"],
  ["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type", (v) => v === "intranet"],
  ["service.beta.kubernetes.io/openstack-internal-load-balancer", (v) => v === "true"],
];

const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";
const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** Load balancers should be internal or restricted to known source ranges (advice). */
export const serviceLoadbalancer: Rule = defineRule({
  meta: {
    id: "service-loadbalancer",
    title: "LoadBalancer Service is open to any address",
    severity: "low",
    description:
      "A LoadBalancer Service gets an address from the cloud provider that is, by default, reachable from the whole internet. " +
      "Unless the service is meant to be public, restricting it to known source ranges or making the load balancer internal " +
      "keeps it out of reach of scanners and attackers.",
    remediation:
      "Set spec.loadBalancerSourceRanges to the client networks or make the load balancer internal with the provider's annotation.",
    frameworks: {
      nsa: ["Network separation and hardening"],
      mitre: ["T1190"],
    },
    profiles: ["hardening"],
    status: "warn",
  },
  check(resource) {
    const spec = serviceSpec(resource);
    if (spec?.type !== "LoadBalancer") return [];
    const annotations = asObject(asObject(resource.object.metadata).annotations);
    const internal = INTERNAL_ANNOTATIONS.some(([key, isInternal]) => {
      const value = annotations[key];
      return typeof value === "string" && isInternal(value);
    });
    if (internal) return [];
    const ranges = stringEntries(spec.loadBalancerSourceRanges);
    if (ranges.length > 0) {
      const violations: Violation[] = [];
      for (const range of ranges) {
        if (!ANYWHERE.has(range.value.trim())) continue;
        violations.push({
          path: ["spec", "loadBalancerSourceRanges", range.index],
          message: `${objectLabel(resource)} allows load balancer traffic from "${range.value.trim()}" (any address)`,
        });
      }
      return violations;
    }
    const annotated = annotations[SOURCE_RANGES_ANNOTATION];
    if (typeof annotated === "string" && annotated.trim() !== "") {
      const open = annotated.split(",").some((range) => ANYWHERE.has(range.trim()));
      if (!open) return [];
      return [
        {
          path: ["metadata", "annotations", SOURCE_RANGES_ANNOTATION],
          message: `${objectLabel(resource)} allows load balancer traffic from any address in annotation "${SOURCE_RANGES_ANNOTATION}"`,
        },
      ];
    }
    return [
      {
        path: ["spec", "loadBalancerSourceRanges"],
        message: `${objectLabel(resource)} has spec.type "LoadBalancer" with no loadBalancerSourceRanges and is reachable from any address`,
      },
    ];
  },
});
