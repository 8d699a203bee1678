import { type Finding, type InputError, SEVERITIES, type Severity } from "../findings/finding.ts";
import type { ScanReport } from "../output/report.ts";
import type { RuleMeta } from "../rules/rule.ts";

/** Assemble the report every output format renders; counts only fail and warn findings. */
export function buildReport(
  findings: Finding[],
  resourceCount: number,
  errors: InputError[],
  rules: RuleMeta[],
  toolVersion: string,
): ScanReport {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  let count = 0;
  for (const finding of findings) {
    if (finding.status !== "fail" && finding.status !== "warn") continue;
    bySeverity[finding.severity]++;
    count++;
  }
  return {
    findings,
    summary: { resources: resourceCount, findings: count, bySeverity },
    errors,
    rules,
    toolVersion,
  };
}
