/**
 * Find the file position of a field, lazily: the one document holding the object is parsed
 * again with the `yaml` CST (which tracks ranges) only when a finding needs a position.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { fastLocate, type ScannedText, scanText } from "./fast-locate.ts";
import type { FieldPath } from "./path.ts";
import type { Resource, SourcePosition } from "./types.ts";

interface ParsedSource {
  contents: Node | null;
  lines: LineCounter;
}

// One-entry caches: findings for an object are made together, so keeping only the last
// document bounds memory to one document however large the scan.
let parsedFor: object | undefined;
let parsedEntry: ParsedSource | undefined;
let scannedFor: object | undefined;
let scannedEntry: ScannedText | undefined;

function parse(resource: Resource): ParsedSource | undefined {
  const source = resource.source;
  if (!source) return undefined;
  if (parsedFor !== source || !parsedEntry) {
    const lines = new LineCounter();
    const doc = parseDocument(source.text, { lineCounter: lines, version: "1.1", uniqueKeys: false });
    parsedEntry = { contents: doc.contents as Node | null, lines };
    parsedFor = source;
  }
  return parsedEntry;
}

/**
 * The position of `path` in the resource's source. When the field itself is absent (a
 * finding about a missing setting), the deepest present ancestor is returned, so the user
 * lands where the field belongs. A key's position is its key's, not its value's. Returns
 * undefined for resources without a source (live objects). Never throws.
 */
export function locate(resource: Resource, path: FieldPath): SourcePosition | undefined {
  const source = resource.source;
  if (!source) return undefined;
  if (scannedFor !== source || !scannedEntry) {
    scannedEntry = scanText(source.text);
    scannedFor = source;
  }
  const fast = fastLocate(scannedEntry, [...source.basePath, ...path]);
  if (fast) return { file: source.file, line: source.lineOffset + fast.line + 1, column: fast.column + 1 };
  return slowLocate(resource, path);
}

/** The exact locator: a full YAML parse of the document (cached), for what the fast one cannot read. */
export function slowLocate(resource: Resource, path: FieldPath): SourcePosition | undefined {
  const entry = parse(resource);
  const source = resource.source;
  if (!entry || !source) return undefined;
  let node: unknown = entry.contents;
  let offset: number | undefined = rangeStart(node);
  for (const part of [...source.basePath, ...path]) {
    if (isMap(node)) {
      // The last duplicate is the one the API server keeps.
      const pair = node.items.findLast((p) => isPair(p) && keyString(p.key) === String(part));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === "number") {
      const item = node.items[part];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) offset = 0;
  const pos = entry.lines.linePos(offset);
  return { file: source.file, line: source.lineOffset + pos.line, column: pos.col };
}

function keyString(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}
