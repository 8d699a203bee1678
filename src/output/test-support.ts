/**
 * Shared by the output tests: a fixed sample report and golden-file comparison. Not part
 * of the module's API (not exported from index.ts).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compareFindings, type Finding, type Severity } from "../findings/finding.ts";
import type { RuleMeta } from "../rules/rule.ts";
import type { ScanReport } from "./report.ts";

/** Directory of the golden files, `src/output/__golden__/`. */
export const GOLDEN_DIR = fileURLToPath(new URL("./__golden__/", import.meta.url));

/**
 * The golden text for `name`. With `UPDATE_GOLDEN=1` (refused when `CI` is set) it first
 * writes `actual` there. Throws when the file is missing, so new outputs are reviewed.
 */
export function golden(name: string, actual: string): string {
  const file = `${GOLDEN_DIR}${name}`;
  if (process.env.UPDATE_GOLDEN === "1") {
    if (process.env.CI)
      throw new Error("UPDATE_GOLDEN=1 is refused in CI: golden files are only updated locally");
    writeFileSync(file, actual);
    return actual;
  }
  if (!existsSync(file))
    throw new Error(`missing golden file ${name}: run UPDATE_GOLDEN=1 npx vitest run src/output`);
  return readFileSync(file, "utf8");
}

const RULES: RuleMeta[] = [
  {
    id: "privileged-container",
    title: "Privileged container",
    severity: "critical",
    description:
      "A privileged container has every capability and access to the host's devices; escaping to the node is trivial.",
    remediation: "Remove securityContext.privileged or set it to false.",
    frameworks: {
      pss: { level: "baseline", check: "privileged" },
      cis: ["5.2.2"],
      nsa: ["Kubernetes Pod security"],
      nist: ["4.4.3"],
      mitre: ["T1611"],
    },
    profiles: ["pss-baseline", "pss-restricted", "hardening"],
  },
  {
    id: "host-network",
    title: "Host network namespace",
    severity: "high",
    description:
      "A pod in the host's network namespace can reach node-local services and sniff the node's traffic.",
    remediation: "Remove spec.hostNetwork or set it to false.",
    frameworks: { pss: { level: "baseline", check: "hostNamespaces" }, cis: ["5.2.5"], mitre: ["T1040"] },
    profiles: ["pss-baseline", "pss-restricted", "hardening"],
  },
  {
    id: "wildcard-rbac",
    title: "Wildcard in RBAC rule",
    severity: "high",
    description:
      "A wildcard grants every current and future verb or resource, including ones added by CRDs later.",
    remediation: "List the verbs and resources the subject needs instead of *.",
    frameworks: { cis: ["5.1.3"], mitre: ["T1098.006"] },
    profiles: ["hardening"],
  },
  {
    id: "run-as-non-root",
    title: "Container may run as root",
    severity: "medium",
    description: "Without runAsNonRoot the kubelet lets an image's root user run the container.",
    remediation: "Set securityContext.runAsNonRoot to true.",
    frameworks: { pss: { level: "restricted", check: "runAsNonRoot" }, cis: ["5.2.7"], nist: ["4.4.3"] },
    profiles: ["pss-restricted", "hardening"],
  },
  {
    id: "resource-limits",
    title: "Missing resource limits",
    severity: "low",
    description: "A container without limits can starve its neighbours on the node.",
    remediation: "Set resources.limits.cpu and resources.limits.memory.",
    frameworks: { nsa: ["Resource policies"], mitre: ["T1496"] },
    profiles: ["hardening"],
    status: "warn",
  },
  {
    id: "default-namespace",
    title: "Object in the default namespace",
    severity: "info",
    description: "The default namespace mixes unrelated workloads and is easy to over-grant.",
    remediation: "Move the object to a dedicated namespace.",
    frameworks: { cis: ["5.7.4"] },
    profiles: ["hardening"],
  },
  {
    id: "host-path-volume",
    title: "hostPath volume",
    severity: "high",
    description: "A hostPath volume exposes the node's file system to the pod.",
    remediation: "Replace hostPath volumes with persistent volumes or emptyDir.",
    frameworks: { pss: { level: "baseline", check: "hostPathVolumes" }, cis: ["5.2.12"] },
    profiles: ["pss-baseline", "pss-restricted", "hardening"],
  },
  {
    id: "seccomp-profile",
    title: "Seccomp profile not set",
    severity: "medium",
    description: "Without a seccomp profile every system call is available to the container.",
    remediation: "Set securityContext.seccompProfile.type to RuntimeDefault.",
    frameworks: { pss: { level: "restricted", check: "seccompProfile_restricted" }, cis: ["5.7.2"] },
    profiles: ["pss-restricted", "hardening"],
  },
];

const WEB = { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" };
const DEBUG = { apiVersion: "v1", kind: "Pod", namespace: "kube-system", name: "debug" };
const ROLE = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: "aggregate-all" };

function finding(
  ruleId: string,
  fields: Omit<Finding, "ruleId" | "severity" | "title" | "remediation" | "frameworks" | "status"> &
    Partial<Finding>,
): Finding {
  const meta = RULES.find((rule) => rule.id === ruleId);
  return {
    ruleId,
    status: meta?.status ?? "fail",
    severity: meta?.severity ?? "medium",
    title: meta?.title ?? ruleId,
    remediation: meta?.remediation ?? "",
    frameworks: meta?.frameworks ?? {},
    ...fields,
  };
}

const WEB_FILE = "deploy/web app.yaml";
const DEBUG_FILE = "deploy/debug.yaml";

const FINDINGS: Finding[] = [
  finding("default-namespace", {
    resource: WEB,
    path: "metadata.namespace",
    message: 'Deployment "web" is in namespace "default"',
    file: WEB_FILE,
    line: 5,
    column: 14,
  }),
  finding("resource-limits", {
    resource: WEB,
    path: "spec.template.spec.containers[0].resources",
    message: 'container "app" does not set resources.limits.cpu, resources.limits.memory',
    file: WEB_FILE,
    line: 17,
    column: 11,
  }),
  finding("run-as-non-root", {
    resource: WEB,
    path: "spec.template.spec.securityContext",
    message: 'pod or containers "app" must set securityContext.runAsNonRoot=true',
    file: WEB_FILE,
    line: 18,
    column: 7,
  }),
  finding("privileged-container", {
    resource: WEB,
    path: "spec.template.spec.containers[0].securityContext.privileged",
    message: 'container "app" must not set securityContext.privileged=true',
    file: WEB_FILE,
    line: 21,
    column: 25,
  }),
  finding("host-path-volume", {
    status: "pass",
    resource: WEB,
    path: "",
    message: "no hostPath volumes",
    file: WEB_FILE,
    line: 1,
    column: 1,
  }),
  finding("host-network", {
    resource: DEBUG,
    path: "spec.hostNetwork",
    message: "pod must not set spec.hostNetwork=true",
    file: DEBUG_FILE,
    line: 8,
    column: 16,
  }),
  finding("privileged-container", {
    resource: DEBUG,
    path: "spec.containers[1].securityContext.privileged",
    // Names quoted from a manifest can hold anything; outputs must escape, not pass it through.
    message: 'container "a<b>&\'c\u001b[31m\u0007" must not set securityContext.privileged=true',
    file: DEBUG_FILE,
    line: 15,
    column: 21,
  }),
  finding("require-team-label", {
    status: "error",
    severity: "low",
    title: "Team label required",
    resource: DEBUG,
    path: "",
    message: "no such key: team",
    file: DEBUG_FILE,
    line: 1,
    column: 1,
  }),
  finding("wildcard-rbac", {
    resource: ROLE,
    path: "rules[0].verbs",
    message: 'rules[0] grants verbs "*" on resources "pods"',
  }),
];

/**
 * A report touching every feature of the outputs: all severities, a `warn`, a `pass` and
 * an `error` finding, a live object without file, a file name with a space, an evaluated
 * rule without findings, a finding of a rule missing from `rules`, an input error and a
 * message with characters that need escaping.
 */
export function sampleReport(): ScanReport {
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  const counted = FINDINGS.filter((finding) => finding.status === "fail" || finding.status === "warn");
  for (const finding of counted) bySeverity[finding.severity]++;
  return {
    findings: [...FINDINGS].sort(compareFindings),
    summary: { resources: 6, findings: counted.length, bySeverity },
    errors: [
      { file: "deploy/broken.yaml", line: 3, column: 7, message: "bad indentation of a mapping entry" },
    ],
    rules: structuredClone(RULES),
    toolVersion: "0.1.0",
  };
}

/** A clean report: rules evaluated on resources, nothing found, no input errors. */
export function emptyReport(): ScanReport {
  return {
    findings: [],
    summary: { resources: 3, findings: 0, bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 } },
    errors: [],
    rules: structuredClone(RULES.slice(0, 2)),
    toolVersion: "0.1.0",
  };
}
