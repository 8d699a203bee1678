/**
 * The `json` format: a stable, documented schema (docs/output.md). Every object is built
 * field by field from the finding, so nothing of a scanned object (a Secret's data, say)
 * can reach the output unless a rule put it in a message.
 */
import {
  type Finding,
  type FrameworkRefs,
  type InputError,
  SEVERITIES,
  type Severity,
  type Status,
} from "../findings/finding.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

/** A resource in the JSON document; `namespace` is absent for cluster-scoped objects. */
export interface JsonResource {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** A finding in the JSON document; `file`, `line` and `column` are absent for live objects. */
export interface JsonFinding {
  ruleId: string;
  status: Status;
  severity: Severity;
  title: string;
  message: string;
  resource: JsonResource;
  path: string;
  file?: string;
  line?: number;
  column?: number;
  remediation: string;
  frameworks: FrameworkRefs;
}

/** An input error in the JSON document. */
export interface JsonInputError {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** The whole JSON (and YAML) document. */
export interface JsonReport {
  findings: JsonFinding[];
  summary: { resources: number; findings: number; bySeverity: Record<Severity, number> };
  errors: JsonInputError[];
}

/**
 * Build the document the `json` and `yaml` formats print: keys in schema order, optional
 * keys omitted when absent, framework references in a fixed order. Pure; never throws.
 */
export function jsonDocument(report: ScanReport): JsonReport {
  const bySeverity = {} as Record<Severity, number>;
  for (const severity of SEVERITIES) bySeverity[severity] = report.summary.bySeverity[severity] ?? 0;
  return {
    findings: report.findings.map(jsonFinding),
    summary: { resources: report.summary.resources, findings: report.summary.findings, bySeverity },
    errors: report.errors.map(jsonInputError),
  };
}

/**
 * Render a report as JSON: 2-space indent, trailing newline, schema of {@link JsonReport}.
 * Pure; never throws.
 */
export function renderJson(report: ScanReport, _options: RenderOptions = {}): string {
  return `${JSON.stringify(jsonDocument(report), null, 2)}\n`;
}

function jsonFinding(finding: Finding): JsonFinding {
  const { resource } = finding;
  return {
    ruleId: finding.ruleId,
    status: finding.status,
    severity: finding.severity,
    title: finding.title,
    message: finding.message,
    resource: {
      apiVersion: resource.apiVersion,
      kind: resource.kind,
      ...(resource.namespace ? { namespace: resource.namespace } : {}),
      name: resource.name,
    },
    path: finding.path,
    ...position(finding),
    remediation: finding.remediation,
    frameworks: frameworkRefs(finding.frameworks),
  };
}

function jsonInputError(error: InputError): JsonInputError {
  return { file: error.file, ...position(error), message: error.message };
}

/** `file`, `line` and `column` in that order, each only when present. */
function position(at: {
  file?: string;
  line?: number;
  column?: number;
}): Pick<JsonFinding, "file" | "line" | "column"> {
  return {
    ...(at.file !== undefined ? { file: at.file } : {}),
    ...(at.line !== undefined ? { line: at.line } : {}),
    ...(at.column !== undefined ? { column: at.column } : {}),
  };
}

/** Copy framework references in a fixed key order, dropping absent and empty lists. */
function frameworkRefs(refs: FrameworkRefs): FrameworkRefs {
  const out: FrameworkRefs = {};
  if (refs.pss) out.pss = { level: refs.pss.level, check: refs.pss.check };
  if (refs.cis?.length) out.cis = [...refs.cis];
  if (refs.nsa?.length) out.nsa = [...refs.nsa];
  if (refs.nist?.length) out.nist = [...refs.nist];
  if (refs.mitre?.length) out.mitre = [...refs.mitre];
  return out;
}
