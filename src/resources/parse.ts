/**
 * Parse YAML/JSON streams into resources, fast: objects are read with js-yaml (a YAML 1.1
 * resolver like kubectl's) and positions are found later, only for fields with findings
 * (see locate.ts).
 */
import yaml from "js-yaml";
import type { InputError, ResourceRef } from "../findings/finding.ts";
import type { KubeObject, Resource, SourceDocument } from "./types.ts";
import { applyMergeKeys, KUBE_YAML_SCHEMA } from "./yaml11.ts";

/** Result of parsing one input: the objects it holds and the problems found. */
export interface ParseResult {
  resources: Resource[];
  errors: InputError[];
}

/** A document separator line as kubectl's YAML reader sees it: `---` at column 0. */
const SEPARATOR = /^---(?:[ \t]|$)/;

interface Chunk {
  text: string;
  lineOffset: number;
}

/** Split a stream into documents at `---` lines, as k8s.io/apimachinery's YAMLReader does. */
function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  const lines = text.split("\n");
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || (i > start && SEPARATOR.test(lines[i] as string))) {
      chunks.push({ text: lines.slice(start, i).join("\n"), lineOffset: start });
      start = i;
    }
  }
  return chunks;
}

/**
 * Parse a YAML or JSON stream (multi-document, `kind: List` expanded). Never throws: a broken
 * document becomes an {@link InputError} with its line and column, the other documents are
 * still returned. Error messages never quote the input (it may hold Secret values).
 */
export function parseStream(text: string, file: string): ParseResult {
  const result: ParseResult = { resources: [], errors: [] };
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    // A JSON file is one document; JSON.parse is the fastest correct reader for it.
    try {
      addDocument(JSON.parse(text), { file, text, lineOffset: 0, basePath: [] }, result);
      return result;
    } catch {
      // Not plain JSON (e.g. YAML flow style): fall through to the YAML reader.
    }
  }
  for (const chunk of splitDocuments(text)) {
    let value: unknown;
    try {
      value = yaml.load(chunk.text, { schema: KUBE_YAML_SCHEMA, json: true, filename: file });
      if (chunk.text.includes("<<")) value = applyMergeKeys(value);
    } catch (err) {
      result.errors.push(yamlError(err, file, chunk.lineOffset));
      continue;
    }
    addDocument(value, { file, text: chunk.text, lineOffset: chunk.lineOffset, basePath: [] }, result);
  }
  return result;
}

function addDocument(value: unknown, source: SourceDocument, result: ParseResult): void {
  if (value === null || value === undefined) return; // empty document or comments only
  const line = source.lineOffset + firstContentLine(source.text);
  if (typeof value !== "object" || Array.isArray(value)) {
    result.errors.push({
      file: source.file,
      line,
      column: 1,
      message: "document is not a mapping (expected a Kubernetes object with apiVersion and kind)",
    });
    return;
  }
  const object = value as KubeObject;
  const missing = ["apiVersion", "kind"].filter(
    (key) => typeof object[key] !== "string" || object[key] === "",
  );
  if (missing.length > 0) {
    result.errors.push({
      file: source.file,
      line,
      column: 1,
      message: `object has no ${missing.join(" and no ")} (every Kubernetes object needs apiVersion and kind)`,
    });
    return;
  }
  const kind = object.kind as string;
  if (kind.endsWith("List") && Array.isArray(object.items)) {
    object.items.forEach((item, index) => {
      const itemSource: SourceDocument = { ...source, basePath: [...source.basePath, "items", index] };
      if (item === null || typeof item !== "object" || Array.isArray(item)) {
        result.errors.push({
          file: source.file,
          line,
          column: 1,
          message: `${kind} items[${index}] is not an object`,
        });
        return;
      }
      const itemObject = item as KubeObject;
      const missingItem = ["apiVersion", "kind"].filter((key) => typeof itemObject[key] !== "string");
      if (missingItem.length > 0) {
        result.errors.push({
          file: source.file,
          line,
          column: 1,
          message: `${kind} items[${index}] has no ${missingItem.join(" and no ")}`,
        });
        return;
      }
      result.resources.push(makeResource(itemObject, itemSource));
    });
    return;
  }
  result.resources.push(makeResource(object, source));
}

/** Build a resource from an object, reading its identity from apiVersion, kind and metadata. */
export function makeResource(object: KubeObject, source?: SourceDocument): Resource {
  return source ? { object, ref: refOf(object), source } : { object, ref: refOf(object) };
}

/** The identity of an object. A missing name is shown as `<unnamed>` (generateName is used if set). */
export function refOf(object: KubeObject): ResourceRef {
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const name =
    typeof metadata.name === "string" && metadata.name !== ""
      ? metadata.name
      : typeof metadata.generateName === "string"
        ? `${metadata.generateName}*`
        : "<unnamed>";
  const ref: ResourceRef = { apiVersion: String(object.apiVersion), kind: String(object.kind), name };
  if (typeof metadata.namespace === "string" && metadata.namespace !== "") ref.namespace = metadata.namespace;
  return ref;
}

function firstContentLine(text: string): number {
  const lines = text.split("\n");
  const index = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("#") && !SEPARATOR.test(l));
  return Math.max(index, 0) + 1;
}

function yamlError(err: unknown, file: string, lineOffset: number): InputError {
  if (err instanceof yaml.YAMLException) {
    const mark = err.mark as { line?: number; column?: number } | undefined;
    return {
      file,
      line: lineOffset + (mark?.line ?? 0) + 1,
      column: (mark?.column ?? 0) + 1,
      message: `invalid YAML: ${err.reason}`,
    };
  }
  return { file, line: lineOffset + 1, column: 1, message: `invalid YAML: ${String(err)}` };
}
