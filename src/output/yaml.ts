/**
 * The `yaml` format: the `json` document (same keys, same order) as YAML.
 */
import { stringify } from "yaml";
import { jsonDocument } from "./json.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

/**
 * Render a report as a YAML 1.2 document with the schema of the `json` format. Long strings
 * are never folded and no anchors or aliases are emitted. Pure; never throws.
 */
export function renderYaml(report: ScanReport, _options: RenderOptions = {}): string {
  return stringify(jsonDocument(report), { lineWidth: 0, aliasDuplicateObjects: false, indentSeq: true });
}
