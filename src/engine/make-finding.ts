import type { Finding, Status } from "../findings/finding.ts";
import { locate } from "../resources/locate.ts";
import { type FieldPath, formatPath } from "../resources/path.ts";
import type { Resource } from "../resources/types.ts";
import type { RuleMeta } from "../rules/rule.ts";

/** Build a finding for a rule on a resource at a path, locating the field in its source. */
export function makeFinding(
  meta: RuleMeta,
  resource: Resource,
  path: FieldPath,
  status: Status,
  message: string,
): Finding {
  const finding: Finding = {
    ruleId: meta.id,
    status,
    severity: meta.severity,
    title: meta.title,
    message,
    resource: resource.ref,
    path: formatPath(path),
    remediation: meta.remediation,
    frameworks: meta.frameworks,
  };
  const position = locate(resource, path);
  if (position) {
    finding.file = position.file;
    finding.line = position.line;
    finding.column = position.column;
  }
  return finding;
}
