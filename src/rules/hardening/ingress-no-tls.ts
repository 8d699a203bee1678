/**
 * ingress-no-tls
 *
 * Fields: `spec.tls` and `spec.rules[*].host` of every Ingress (`networking.k8s.io`, or the
 * removed `extensions/v1beta1` and `networking.k8s.io/v1beta1`).
 * Fails when the Ingress routes traffic (has `rules` or `defaultBackend`/`backend`) and
 *   - has no `spec.tls` entry at all (one violation at `spec.tls`), or
 *   - a rule's host is covered by no `spec.tls[*].hosts` entry (one violation per such
 *     host); a TLS host `*.example.com` covers exactly one label (`a.example.com`), and a
 *     TLS entry without hosts covers every host.
 * Rules without a host are covered by any TLS entry.
 */
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { asArray, asObject, isObject, objectLabel } from "./lib/objects.ts";

/** Whether TLS host `pattern` (possibly `*.domain`) covers request host `host`. */
export function tlsHostCovers(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === h) return true;
  if (!p.startsWith("*.")) return false;
  const suffix = p.slice(1);
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label !== "" && !label.includes(".");
}

/** Ingresses must serve their hosts over TLS. */
export const ingressNoTls: Rule = defineRule({
  meta: {
    id: "ingress-no-tls",
    title: "Ingress serves traffic without TLS",
    severity: "medium",
    description:
      "An Ingress without TLS serves its hosts over plain HTTP, so credentials, session cookies and data cross the network " +
      "readable and modifiable by anyone on the path. Each host an Ingress routes should be listed in a TLS entry with a " +
      "certificate.",
    remediation:
      "Add a spec.tls entry listing every host of the Ingress with the Secret holding its certificate.",
    frameworks: {
      nsa: ["Network separation and hardening"],
      mitre: ["T1040", "T1557"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    if (resource.ref.kind !== "Ingress") return [];
    const group = resource.ref.apiVersion.split("/")[0];
    if (group !== "networking.k8s.io" && group !== "extensions") return [];
    const spec = asObject(resource.object.spec);
    const rules = asArray(spec.rules);
    const routes = rules.length > 0 || isObject(spec.defaultBackend) || isObject(spec.backend);
    if (!routes) return [];
    const tls = asArray(spec.tls).filter(isObject);
    if (tls.length === 0) {
      return [
        {
          path: ["spec", "tls"],
          message: `${objectLabel(resource)} has no spec.tls and serves its hosts over plain HTTP`,
        },
      ];
    }
    if (tls.some((entry) => asArray(entry.hosts).length === 0)) return [];
    const tlsHosts = tls.flatMap((entry) =>
      asArray(entry.hosts).filter((h): h is string => typeof h === "string"),
    );
    const violations: Violation[] = [];
    rules.forEach((rule, index) => {
      const host = asObject(rule).host;
      if (typeof host !== "string" || host === "") return;
      if (tlsHosts.some((pattern) => tlsHostCovers(pattern, host))) return;
      violations.push({
        path: ["spec", "rules", index, "host"],
        message: `${objectLabel(resource)} routes host "${host}" but no spec.tls entry lists it`,
      });
    });
    return violations;
  },
});
