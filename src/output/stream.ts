/**
 * A rendered report in pieces, so a large audit's output never exists as one huge string
 * plus its encoded copy, and a caller can respect a slow stream's backpressure. `json` is serialised element by element (the bytes equal
 * {@link renderJson}'s); the other formats are rendered whole and written in slices.
 */
import { type ClusterFormat, type ClusterReport, clustersDocument, renderClusters } from "./clusters.ts";
import { type OutputFormat, render } from "./index.ts";
import { jsonDocument } from "./json.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

/** Characters per slice written to the stream. */
const SLICE = 1 << 20;

/**
 * `report` in `format` as pieces whose concatenation is exactly
 * `render(format, report, options)`; lazily, so a caller can wait for a slow stream between
 * pieces. Pure; never throws.
 */
export function* reportChunks(
  format: OutputFormat,
  report: ScanReport,
  options: RenderOptions = {},
): Generator<string> {
  if (format === "json") yield* jsonChunks(jsonDocument(report));
  else yield* slices(render(format, report, options));
}

/**
 * Like {@link reportChunks} for several clusters' reports: the pieces concatenate to
 * `renderClusters(format, clusters, toolVersion, options)`.
 */
export function* clusterChunks(
  format: ClusterFormat,
  clusters: readonly ClusterReport[],
  toolVersion: string,
  options: RenderOptions = {},
): Generator<string> {
  if (format === "json") yield* jsonChunks(clustersDocument(clusters));
  else yield* slices(renderClusters(format, clusters, toolVersion, options));
}

function* slices(text: string): Generator<string> {
  for (let at = 0; at < text.length; at += SLICE) yield text.slice(at, at + SLICE);
}

/**
 * `JSON.stringify(document, null, 2) + "\n"` in pieces: the top-level object key by key and
 * its arrays element by element. JSON strings never hold a raw newline, so re-indenting an
 * element's own stringification gives the same bytes as stringifying it in place.
 */
function* jsonChunks(document: object): Generator<string> {
  const entries = Object.entries(document).filter(([, value]) => value !== undefined);
  if (entries.length === 0) {
    yield "{}\n";
    return;
  }
  yield "{\n";
  for (const [index, [key, value]] of entries.entries()) {
    yield `  ${JSON.stringify(key)}: `;
    if (Array.isArray(value) && value.length > 0) {
      yield "[\n";
      for (let i = 0; i < value.length; i++)
        yield `    ${indented(value[i], "    ")}${i < value.length - 1 ? ",\n" : "\n"}`;
      yield "  ]";
    } else {
      yield indented(value, "  ");
    }
    yield index < entries.length - 1 ? ",\n" : "\n";
  }
  yield "}\n";
}

function indented(value: unknown, pad: string): string {
  return (JSON.stringify(value, null, 2) ?? "null").replaceAll("\n", `\n${pad}`);
}
