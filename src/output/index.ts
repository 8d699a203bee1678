/**
 * Output formats of `belay scan` and `belay audit`. Each is a pure function from a
 * {@link ScanReport} to the text to print; the caller writes it and picks the exit code.
 */
import { renderHtml } from "./html.ts";
import { renderJson } from "./json.ts";
import { renderJunit } from "./junit.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";
import { renderSarif } from "./sarif.ts";
import { renderTable } from "./table.ts";
import { renderYaml } from "./yaml.ts";

export type { ClusterFormat, ClusterReport, JsonClusterFinding, JsonClustersReport } from "./clusters.ts";
export { clustersDocument, renderClusters } from "./clusters.ts";
export type { HtmlSection } from "./html.ts";
export { escapeHtml, renderHtml, renderHtmlSections } from "./html.ts";
export type { JsonFinding, JsonInputError, JsonReport, JsonResource } from "./json.ts";
export { jsonDocument, renderJson } from "./json.ts";
export { INPUT_SUITE, renderJunit, renderJunitGroups } from "./junit.ts";
export type { RenderOptions } from "./options.ts";
export type { ScanReport, Summary } from "./report.ts";
export { BELAY_INFORMATION_URI, FINGERPRINT_KEY, renderSarif, sarifArtifactLocation } from "./sarif.ts";
export { clusterChunks, reportChunks } from "./stream.ts";
export { renderTable } from "./table.ts";
export { renderYaml } from "./yaml.ts";

/** Names accepted by `--output`; `table` is the default on a terminal. */
export const OUTPUT_FORMATS = ["table", "json", "yaml", "sarif", "junit", "html"] as const;
/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** True when `value` is one of {@link OUTPUT_FORMATS}. */
export function isOutputFormat(value: unknown): value is OutputFormat {
  return typeof value === "string" && (OUTPUT_FORMATS as readonly string[]).includes(value);
}

const RENDERERS: Record<OutputFormat, (report: ScanReport, options: RenderOptions) => string> = {
  table: renderTable,
  json: renderJson,
  yaml: renderYaml,
  sarif: renderSarif,
  junit: renderJunit,
  html: renderHtml,
};

/**
 * Render `report` in `format`. Pure; never throws (validate user input with
 * {@link isOutputFormat} first).
 *
 * @example process.stdout.write(render("sarif", report, {}))
 */
export function render(format: OutputFormat, report: ScanReport, options: RenderOptions = {}): string {
  return RENDERERS[format](report, options);
}
