import type { ResourceRef } from "../findings/finding.ts";
import type { FieldPath } from "./path.ts";

/** A Kubernetes object as plain JSON. */
export type KubeObject = Record<string, unknown>;

/** Where an object came from: its document's text, kept so positions can be found lazily. */
export interface SourceDocument {
  /** Display name of the input (a path, `<stdin>`, or a rendered Helm/Kustomize source). */
  file: string;
  /** Text of the one YAML/JSON document holding the object. */
  text: string;
  /** 0-based line of `text`'s first character in the file. */
  lineOffset: number;
  /** Path of the object inside the document (`["items", 3]` for a List item, `[]` otherwise). */
  basePath: FieldPath;
}

/** One loaded object with its identity and (for files) its source. */
export interface Resource {
  readonly object: KubeObject;
  readonly ref: ResourceRef;
  readonly source?: SourceDocument;
}

/** A 1-based file position. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}
