/**
 * The `sarif` format: SARIF 2.1.0 (OASIS), as GitHub code scanning and other SARIF viewers
 * read it. One run; one reporting descriptor per evaluated rule; one result per finding;
 * input errors as tool execution notifications.
 *
 * Levels: a `fail` finding's level follows its severity (critical/high → error, medium →
 * warning, low/info → note); a `warn` finding is always "warning". Findings that are not
 * problems keep SARIF's own vocabulary: `pass` → kind "pass", `skip` → kind
 * "notApplicable", `error` (the rule could not be evaluated) → kind "review"; SARIF
 * requires level "none" for all three.
 */
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import type { Finding, FrameworkRefs, InputError, ResourceRef, Severity } from "../findings/finding.ts";
import { refKey, refLabel } from "../findings/finding.ts";
import type { RuleMeta } from "../rules/rule.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

/** Where the tool's documentation lives (tool.driver.informationUri). */
export const BELAY_INFORMATION_URI = "https://github.com/belay-dev/belay";

const SARIF_SCHEMA_URI =
  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/** Name of the partial fingerprint belay computes; the version changes if the inputs do. */
export const FINGERPRINT_KEY = "belay/findingHash/v1";

type Level = "error" | "warning" | "note" | "none";

const LEVEL: Record<Severity, Level> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
  info: "note",
};

/** GitHub code scanning labels alerts Critical (over 9.0), High (7.0–8.9), Medium (4.0–6.9) or Low. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
  info: "0.0",
};

/**
 * Render a report as a SARIF 2.1.0 log (JSON, 2-space indent, trailing newline). Relative
 * file names become URIs relative to `%SRCROOT%`; absolute ones become `file:` URIs;
 * objects without a file (live objects, `<stdin>`) get a logical location only. Pure;
 * never throws.
 */
export function renderSarif(report: ScanReport, _options: RenderOptions = {}): string {
  const rules = ruleDescriptors(report);
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "belay",
            version: report.toolVersion,
            informationUri: BELAY_INFORMATION_URI,
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            toolExecutionNotifications: report.errors.map(notification),
          },
        ],
        // Columns come from JavaScript strings.
        columnKind: "utf16CodeUnits",
        results: report.findings.map((finding) => result(finding, ruleIndex.get(finding.ruleId) ?? 0)),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

interface ReportingDescriptor {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription?: { text: string };
  help?: { text: string; markdown: string };
  defaultConfiguration: { level: Level };
  properties: { tags: string[]; "security-severity": string };
}

/**
 * One descriptor per evaluated rule, sorted by id; a finding whose rule is missing from
 * `report.rules` (a user policy, say) gets one built from the finding, so every result's
 * `ruleIndex` is valid.
 */
function ruleDescriptors(report: ScanReport): ReportingDescriptor[] {
  const metas = new Map<string, RuleMeta>();
  for (const meta of report.rules) if (!metas.has(meta.id)) metas.set(meta.id, meta);
  for (const finding of report.findings) {
    if (metas.has(finding.ruleId)) continue;
    metas.set(finding.ruleId, {
      id: finding.ruleId,
      title: finding.title,
      severity: finding.severity,
      description: "",
      remediation: finding.remediation,
      frameworks: finding.frameworks,
      profiles: [],
    });
  }
  return [...metas.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(descriptor);
}

function descriptor(meta: RuleMeta): ReportingDescriptor {
  const references = frameworkNames(meta.frameworks);
  const markdown = [
    meta.description,
    meta.remediation ? `**Remediation:** ${meta.remediation}` : "",
    references.length > 0 ? `**References:** ${references.join("; ")}` : "",
  ]
    .filter((paragraph) => paragraph !== "")
    .join("\n\n");
  return {
    id: meta.id,
    name: pascalCase(meta.id),
    shortDescription: { text: meta.title },
    ...(meta.description ? { fullDescription: { text: meta.description } } : {}),
    ...(meta.remediation ? { help: { text: meta.remediation, markdown } } : {}),
    defaultConfiguration: { level: meta.status === "warn" ? "warning" : LEVEL[meta.severity] },
    properties: {
      tags: frameworkTags(meta.frameworks),
      "security-severity": SECURITY_SEVERITY[meta.severity],
    },
  };
}

/** `privileged-container` → `PrivilegedContainer`. */
function pascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join("");
}

/** `security` plus one tag per framework reference: `PSS-baseline:privileged`, `CIS-5.2.2`, … */
function frameworkTags(refs: FrameworkRefs): string[] {
  const tags = [
    "security",
    ...(refs.pss ? [`PSS-${refs.pss.level}:${refs.pss.check}`] : []),
    ...(refs.cis ?? []).map((id) => `CIS-${id}`),
    ...(refs.nsa ?? []).map((section) => `NSA-${section}`),
    ...(refs.nist ?? []).map((id) => `NIST-${id}`),
    ...(refs.mitre ?? []).map((id) => `MITRE-${id}`),
  ];
  return [...new Set(tags)];
}

function frameworkNames(refs: FrameworkRefs): string[] {
  return [
    ...(refs.pss ? [`Pod Security Standards ${refs.pss.level}: ${refs.pss.check}`] : []),
    ...(refs.cis ?? []).map((id) => `CIS Kubernetes Benchmark ${id}`),
    ...(refs.nsa ?? []).map((section) => `NSA/CISA Kubernetes Hardening Guidance: ${section}`),
    ...(refs.nist ?? []).map((id) => `NIST SP 800-190 ${id}`),
    ...(refs.mitre ?? []).map((id) => `MITRE ATT&CK ${id}`),
  ];
}

function result(finding: Finding, ruleIndex: number): Record<string, unknown> {
  return {
    ruleId: finding.ruleId,
    ruleIndex,
    ...kindAndLevel(finding),
    message: { text: finding.message },
    locations: [location(finding)],
    partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(finding) },
    properties: { resource: resourceRef(finding.resource), path: finding.path },
  };
}

function kindAndLevel(finding: Finding): { kind?: string; level: Level } {
  switch (finding.status) {
    case "fail":
      return { level: LEVEL[finding.severity] };
    case "warn":
      return { level: "warning" };
    case "pass":
      return { kind: "pass", level: "none" };
    case "skip":
      return { kind: "notApplicable", level: "none" };
    case "error":
      return { kind: "review", level: "none" };
  }
}

/** A physical location when the finding has a file, and always the resource as a logical one. */
function location(finding: Finding): Record<string, unknown> {
  const physical = physicalLocation(finding);
  const name = finding.resource.name;
  return {
    ...(physical ? { physicalLocation: physical } : {}),
    logicalLocations: [{ name, fullyQualifiedName: refLabel(finding.resource), kind: "object" }],
  };
}

function physicalLocation(at: {
  file?: string;
  line?: number;
  column?: number;
}): Record<string, unknown> | undefined {
  if (at.file === undefined) return undefined;
  const artifactLocation = sarifArtifactLocation(at.file);
  if (!artifactLocation) return undefined;
  const region =
    at.line !== undefined && at.line >= 1
      ? {
          startLine: at.line,
          ...(at.column !== undefined && at.column >= 1 ? { startColumn: at.column } : {}),
        }
      : undefined;
  return { artifactLocation, ...(region ? { region } : {}) };
}

/**
 * The artifact location of an input's display name. Absolute paths (POSIX, Windows drive
 * or UNC) become `file:` URIs; relative ones are percent-encoded segment by segment and
 * resolved against `%SRCROOT%`. Names that are not paths (`""`, `<stdin>`, a UNC path
 * without share) have none.
 * Pure (independent of the platform it runs on); never throws.
 *
 * @example sarifArtifactLocation("deploy/my app.yaml") // { uri: "deploy/my%20app.yaml", uriBaseId: "%SRCROOT%" }
 */
export function sarifArtifactLocation(name: string): { uri: string; uriBaseId?: string } | undefined {
  if (name === "" || /^<.*>$/.test(name)) return undefined;
  // encodeURIComponent throws on a lone surrogate.
  const file = name.replace(LONE_SURROGATE, "\uFFFD");
  if (/^[A-Za-z]:[\\/]/.test(file) || file.startsWith("\\\\")) return fileUri(file, true);
  const slashed = file.replaceAll("\\", "/");
  if (slashed.startsWith("/")) return fileUri(slashed, false);
  const relative = slashed.replace(/^(\.\/)+/, "");
  return { uri: relative.split("/").map(encodeURIComponent).join("/"), uriBaseId: "%SRCROOT%" };
}

/** An absolute path as a `file:` URI, whatever platform belay runs on. */
function fileUri(path: string, windows: boolean): { uri: string } | undefined {
  try {
    return { uri: pathToFileURL(path, { windows }).href };
  } catch {
    // Rejected by Node, e.g. a UNC path without a share (`\\\\host`): no usable URI.
    return undefined;
  }
}

// With the u flag a surrogate class matches unpaired surrogates only.
const LONE_SURROGATE = /[\uD800-\uDFFF]/gu;

/**
 * Same rule, same object, same field → same fingerprint, wherever the manifest moves. The
 * apiVersion is left out so that migrating `apps/v1beta2` → `apps/v1` keeps the alert.
 */
function fingerprint(finding: Finding): string {
  return createHash("sha256")
    .update(JSON.stringify([finding.ruleId, refKey(finding.resource), finding.path]))
    .digest("hex");
}

function resourceRef(ref: ResourceRef): ResourceRef {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
  };
}

function notification(error: InputError): Record<string, unknown> {
  const physical = physicalLocation(error);
  return {
    level: "error",
    message: { text: error.message },
    ...(physical ? { locations: [{ physicalLocation: physical }] } : {}),
  };
}
