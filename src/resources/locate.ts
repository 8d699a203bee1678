/**
 * Find the file position of a field, lazily: the one document holding the object is parsed
 * again with the `yaml` CST (which tracks ranges) only when a finding needs a position.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { FieldPath } from "./path.ts";
import type { Resource, SourcePosition } from "./types.ts";

interface ParsedSource {
  contents: Node | null;
  lines: LineCounter;
}

const parsed = new WeakMap<object, ParsedSource>();

function parse(resource: Resource): ParsedSource | undefined {
  const source = resource.source;
  if (!source) return undefined;
  let entry = parsed.get(source);
  if (!entry) {
    const lines = new LineCounter();
    const doc = parseDocument(source.text, { lineCounter: lines, version: "1.1", uniqueKeys: false });
    entry = { contents: doc.contents as Node | null, lines };
    parsed.set(source, entry);
  }
  return entry;
}

/**
 * The position of `path` in the resource's source. When the field itself is absent (a
 * finding about a missing setting), the deepest present ancestor is returned, so the user
 * lands where the field belongs. A key's position is its key's, not its value's. Returns
 * undefined for resources without a source (live objects). Never throws.
 */
export function locate(resource: Resource, path: FieldPath): SourcePosition | undefined {
  const entry = parse(resource);
  const source = resource.source;
  if (!entry || !source) return undefined;
  let node: unknown = entry.contents;
  let offset: number | undefined = rangeStart(node);
  for (const part of [...source.basePath, ...path]) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyString(p.key) === String(part));
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
