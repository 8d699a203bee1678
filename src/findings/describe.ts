import type { FrameworkRefs } from "./finding.ts";
import { CIS_CONTROLS, MITRE_TECHNIQUES, NIST_SECTIONS } from "./frameworks.ts";

/** Human-readable framework references: `PSS baseline: privileged`, `CIS 5.2.2 (…)`, … */
export function frameworkTags(refs: FrameworkRefs): string[] {
  const tags: string[] = [];
  if (refs.pss) tags.push(`PSS ${refs.pss.level}: ${refs.pss.check}`);
  for (const id of refs.cis ?? []) tags.push(`CIS ${id} (${CIS_CONTROLS[id] ?? "?"})`);
  for (const section of refs.nsa ?? []) tags.push(`NSA/CISA: ${section}`);
  for (const id of refs.nist ?? []) tags.push(`NIST SP 800-190 ${id} (${NIST_SECTIONS[id] ?? "?"})`);
  for (const id of refs.mitre ?? []) tags.push(`MITRE ATT&CK ${id} (${MITRE_TECHNIQUES[id] ?? "?"})`);
  return tags;
}
