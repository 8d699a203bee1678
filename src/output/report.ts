import type { Finding, InputError, Severity } from "../findings/finding.ts";
import type { RuleMeta } from "../rules/rule.ts";

/** Counts shown at the end of every output. */
export interface Summary {
  /** Resources evaluated. */
  resources: number;
  /** Findings with status fail or warn. */
  findings: number;
  /** Findings with status fail or warn, by severity (every severity present, 0 when none). */
  bySeverity: Record<Severity, number>;
}

/** Everything an output format renders: the result of one scan. */
export interface ScanReport {
  /** Sorted findings; pass/skip ones only when the user asked to show them. */
  findings: Finding[];
  summary: Summary;
  errors: InputError[];
  /** Metadata of every rule that was evaluated (SARIF rule descriptors, JUnit test cases). */
  rules: RuleMeta[];
  /** belay's version, for tool descriptors. */
  toolVersion: string;
}
