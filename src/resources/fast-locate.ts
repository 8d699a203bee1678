/**
 * A fast, line-based locator for block-style YAML, the shape nearly every manifest has.
 *
 * Re-parsing a document with a full YAML parser costs ~0.3 ms, which dominates a scan where
 * most objects have findings. This scanner walks the document's lines by indentation
 * instead. It understands block mappings, block sequences (also at their parent key's
 * indentation), flow collections, comments, quoted keys and block scalars; whenever the
 * path runs into anything else (anchors, aliases, tags, explicit keys, merge keys, tabs,
 * keys that YAML 1.1 would not read as strings) it gives up and returns `undefined`, and the
 * caller uses the full parser. A test compares both on every field of every fixture.
 */
import type { FieldPath } from "./path.ts";

/** 0-based line and column of a node, or of the deepest ancestor present. */
export interface LinePosition {
  line: number;
  column: number;
}

interface Line {
  indent: number;
  /** Text after the indentation, without the line break; "" for blank and comment-only lines. */
  content: string;
}

/** Pre-split lines of a document; build once per document and reuse for every lookup. */
export interface ScannedText {
  lines: Line[];
  /** False when the text has something the scanner never handles (e.g. a tab in indentation). */
  simple: boolean;
  /** Resolved path prefixes: findings on one object share most of their paths. */
  memo: Map<string, WalkState>;
}

/** Where a walk stands after some path parts: the block to descend into, or stopped. */
interface WalkState {
  block: Block | undefined;
  position: LinePosition;
}

/** Split a document into lines with their indentation. */
export function scanText(text: string): ScannedText {
  const lines: Line[] = [];
  let simple = true;
  for (let raw of text.split("\n")) {
    if (raw.endsWith("\r")) raw = raw.slice(0, -1);
    let indent = 0;
    while (indent < raw.length && raw.charCodeAt(indent) === 32) indent++;
    if (raw.charCodeAt(indent) === 9) simple = false;
    const content = raw.slice(indent);
    lines.push({ indent, content: content === "" || content.startsWith("#") ? "" : content });
  }
  return { lines, simple, memo: new Map() };
}

/** Thrown internally when the text needs the full parser. */
const GIVE_UP = Symbol("give-up");

/** A block node: where its first entry starts and its indentation. */
interface Block {
  line: number;
  /** Column of the first entry on `line` (after a `- ` when the block is a sequence item). */
  column: number;
}

/** Plain scalars that YAML 1.1 resolves to something other than a string (as keys they would be renamed). */
const NON_STRING_PLAIN =
  /^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+|0x[0-9a-fA-F_]+|0b[01_]+|0o[0-7_]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|<<)$/;

/**
 * Position of `path` in a block-style document, or of its deepest present ancestor; undefined
 * when the scanner cannot be sure (the caller then uses the full parser). Never throws.
 */
export function fastLocate(scanned: ScannedText, path: FieldPath): LinePosition | undefined {
  if (!scanned.simple) return undefined;
  try {
    return walk(scanned, path);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

function walk(scanned: ScannedText, path: FieldPath): LinePosition {
  const lines = scanned.lines;
  let state = scanned.memo.get("");
  if (!state) {
    const lineIndex = firstContentLine(lines);
    const first = lines[lineIndex] as Line;
    state = {
      block: { line: lineIndex, column: first.indent },
      position: { line: lineIndex, column: first.indent },
    };
    scanned.memo.set("", state);
  }
  let key = "";
  for (let p = 0; p < path.length; p++) {
    const block = state.block;
    if (!block) return state.position;
    const part = path[p] as string | number;
    key += `\u0000${part}`;
    let next = scanned.memo.get(key);
    if (!next) {
      const text = contentAt(lines, block);
      if (text.startsWith("{") || text.startsWith("["))
        return flowLocate(lines, block, path.slice(p), state.position);
      next = step(lines, block, text, part, state.position);
      scanned.memo.set(key, next);
    }
    state = next;
  }
  return state.position;
}

/** Descend one path part from `block`; a missing part stops the walk at `position`. */
function step(
  lines: Line[],
  block: Block,
  text: string,
  part: string | number,
  position: LinePosition,
): WalkState {
  const isSequence = startsSequenceItem(text);
  if (typeof part === "number") {
    const item = isSequence ? sequenceItem(lines, block, part) : undefined;
    return item
      ? { block: item, position: { line: item.line, column: item.column } }
      : { block: undefined, position };
  }
  const entry = isSequence ? undefined : mappingEntry(lines, block, part);
  if (!entry) return { block: undefined, position };
  return { block: valueBlock(lines, entry), position: { line: entry.line, column: entry.column } };
}

function firstContentLine(lines: Line[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line;
    if (line.content === "") continue;
    if (line.indent === 0 && (line.content === "---" || line.content.startsWith("--- #"))) continue;
    if (line.indent === 0 && (line.content.startsWith("%") || line.content.startsWith("---"))) throw GIVE_UP;
    return i;
  }
  throw GIVE_UP;
}

/** The text of a block's first entry, from its column. */
function contentAt(lines: Line[], block: Block): string {
  const line = lines[block.line] as Line;
  return line.content.slice(block.column - line.indent);
}

function startsSequenceItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

/** Parse `key: rest` at the start of `text`; undefined when the text is not a simple key. */
function parseKey(text: string): { key: string; rest: string; restOffset: number } | undefined {
  const c = text.charAt(0);
  if (c === '"' || c === "'") {
    const end = quotedEnd(text, c);
    const after = text.slice(end + 1).trimStart();
    if (!after.startsWith(":") || (after.length > 1 && after.charAt(1) !== " ")) throw GIVE_UP;
    const quoted = text.slice(0, end + 1);
    let key: string;
    try {
      key = c === '"' ? (JSON.parse(quoted) as string) : quoted.slice(1, -1).replaceAll("''", "'");
    } catch {
      throw GIVE_UP;
    }
    const restText = after.slice(1);
    return { key, rest: restText.trim(), restOffset: text.length - restText.trimStart().length };
  }
  if ("?&*!|>[{%@`<".includes(c) && !(c === "<" && text.charAt(1) !== "<")) throw GIVE_UP;
  let colon = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 58 /* : */ && (i + 1 === text.length || text.charCodeAt(i + 1) === 32)) {
      colon = i;
      break;
    }
    if (ch === 35 /* # */ && i > 0 && text.charCodeAt(i - 1) === 32) break;
  }
  if (colon < 0) return undefined;
  const key = text.slice(0, colon).trimEnd();
  if (key === "" || NON_STRING_PLAIN.test(key)) throw GIVE_UP;
  const restText = text.slice(colon + 1);
  return { key, rest: restText.trim(), restOffset: text.length - restText.trimStart().length };
}

function quotedEnd(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quote === '"' && ch === "\\") {
      i++;
      continue;
    }
    if (ch === quote) {
      if (quote === "'" && text.charAt(i + 1) === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  throw GIVE_UP; // multi-line quoted key
}

/** A mapping entry: its key's position and the inline text after the colon. */
interface Entry {
  line: number;
  column: number;
  rest: string;
  /** Column where `rest` starts. */
  restColumn: number;
}

/** The last entry `key` of the mapping starting at `block` (the API server keeps the last duplicate). */
function mappingEntry(lines: Line[], block: Block, key: string): Entry | undefined {
  let found: Entry | undefined;
  const indent = block.column;
  for (let i = block.line; i < lines.length; i++) {
    const line = lines[i] as Line;
    let text: string;
    if (i === block.line) text = contentAt(lines, block);
    else {
      if (line.content === "") continue;
      if (line.indent < indent) break;
      if (line.indent > indent) continue;
      if (line.content.startsWith("---") || line.content.startsWith("...")) break;
      text = line.content;
      if (startsSequenceItem(text)) continue; // a sequence value at its key's indentation
    }
    const parsed = parseKey(text);
    if (!parsed) throw GIVE_UP; // a line at this indentation that is not a key
    if (parsed.key === key)
      found = { line: i, column: indent, rest: parsed.rest, restColumn: indent + parsed.restOffset };
  }
  return found;
}

/** The block holding a key's value, or undefined when the value is a scalar or empty. */
function valueBlock(lines: Line[], entry: Entry): Block | undefined {
  const keyLine = entry.line;
  const keyColumn = entry.column;
  const inlineValue = stripComment(entry.rest);
  if (inlineValue !== "") {
    const c = inlineValue.charAt(0);
    if (c === "{" || c === "[") return { line: keyLine, column: entry.restColumn };
    if ("&*!".includes(c)) throw GIVE_UP; // anchor, alias or tag on the path
    return undefined; // a scalar (plain, quoted or block): nothing below it
  }
  for (let i = keyLine + 1; i < lines.length; i++) {
    const line = lines[i] as Line;
    if (line.content === "") continue;
    if (line.indent > keyColumn) return { line: i, column: line.indent };
    if (line.indent === keyColumn && startsSequenceItem(line.content))
      return { line: i, column: line.indent };
    return undefined;
  }
  return undefined;
}

function stripComment(text: string): string {
  if (text.startsWith("#")) return "";
  const hash = text.indexOf(" #");
  if (hash >= 0 && !text.startsWith('"') && !text.startsWith("'")) return text.slice(0, hash).trimEnd();
  return text;
}

/** The block of item `index` of the sequence starting at `block`. */
function sequenceItem(lines: Line[], block: Block, index: number): Block | undefined {
  const indent = block.column;
  let count = -1;
  for (let i = block.line; i < lines.length; i++) {
    const line = lines[i] as Line;
    let text: string;
    if (i === block.line) text = contentAt(lines, block);
    else {
      if (line.content === "") continue;
      if (line.indent < indent) break;
      if (line.indent > indent) continue;
      text = line.content;
      if (!startsSequenceItem(text)) break;
    }
    count++;
    if (count !== index) continue;
    if (text === "-") {
      // The item's content starts on a later, deeper line.
      for (let j = i + 1; j < lines.length; j++) {
        const next = lines[j] as Line;
        if (next.content === "") continue;
        if (next.indent > indent) return { line: j, column: next.indent };
        break;
      }
      return { line: i, column: indent };
    }
    let column = indent + 1;
    while (text.charCodeAt(column - indent) === 32) column++;
    const itemText = text.slice(column - indent);
    if (startsSequenceItem(itemText) || "&*!?".includes(itemText.charAt(0))) throw GIVE_UP;
    return { line: i, column };
  }
  return undefined;
}

/** A node of a flow collection: its position and, for collections, its children. */
interface FlowNode {
  line: number;
  column: number;
  entries?: Map<string, { line: number; column: number; value: FlowNode }>;
  items?: FlowNode[];
}

/** Walk the rest of `path` inside the flow collection starting at `block`. */
function flowLocate(lines: Line[], block: Block, path: FieldPath, parent: LinePosition): LinePosition {
  const cursor = new FlowCursor(lines, block.line, block.column);
  let node = cursor.node();
  let position = parent;
  for (const part of path) {
    if (typeof part === "number") {
      const item = node.items?.[part];
      if (!item) return position;
      position = { line: item.line, column: item.column };
      node = item;
    } else {
      const entry = node.entries?.get(part);
      if (!entry) return position;
      position = { line: entry.line, column: entry.column };
      node = entry.value;
    }
  }
  return position;
}

/** A recursive-descent reader of one flow collection, tracking line and column. */
class FlowCursor {
  private readonly lines: Line[];
  private line: number;
  private column: number;

  constructor(lines: Line[], line: number, column: number) {
    this.lines = lines;
    this.line = line;
    this.column = column;
  }

  private peek(): string {
    const line = this.lines[this.line];
    if (!line) throw GIVE_UP;
    const offset = this.column - line.indent;
    return offset < line.content.length ? line.content.charAt(offset) : "\n";
  }

  private advance(): void {
    const line = this.lines[this.line] as Line;
    if (this.column - line.indent >= line.content.length) {
      this.line++;
      this.column = this.lines[this.line]?.indent ?? 0;
    } else this.column++;
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\n") this.advance();
      else if (c === "#") {
        this.line++;
        this.column = this.lines[this.line]?.indent ?? 0;
      } else return;
    }
  }

  node(): FlowNode {
    this.skipSpace();
    const start = { line: this.line, column: this.column };
    const c = this.peek();
    if (c === "{") return { ...start, entries: this.mapping() };
    if (c === "[") return { ...start, items: this.sequence() };
    if ("&*!?|>".includes(c)) throw GIVE_UP;
    this.scalar();
    return start;
  }

  private mapping(): Map<string, { line: number; column: number; value: FlowNode }> {
    const entries = new Map<string, { line: number; column: number; value: FlowNode }>();
    this.advance(); // {
    for (;;) {
      this.skipSpace();
      if (this.peek() === "}") {
        this.advance();
        return entries;
      }
      const keyLine = this.line;
      const keyColumn = this.column;
      const c = this.peek();
      if ("{[&*!?".includes(c)) throw GIVE_UP;
      const key = this.scalar();
      if (key.plain && NON_STRING_PLAIN.test(key.text)) throw GIVE_UP;
      this.skipSpace();
      let value: FlowNode = { line: keyLine, column: keyColumn };
      if (this.peek() === ":") {
        this.advance();
        this.skipSpace();
        const next = this.peek();
        value = next === "," || next === "}" ? { line: this.line, column: this.column } : this.node();
        this.skipSpace();
      }
      entries.delete(key.text); // the last duplicate wins
      entries.set(key.text, { line: keyLine, column: keyColumn, value });
      const sep = this.peek();
      if (sep === ",") this.advance();
      else if (sep !== "}") throw GIVE_UP;
    }
  }

  private sequence(): FlowNode[] {
    const items: FlowNode[] = [];
    this.advance(); // [
    for (;;) {
      this.skipSpace();
      if (this.peek() === "]") {
        this.advance();
        return items;
      }
      items.push(this.node());
      this.skipSpace();
      const sep = this.peek();
      if (sep === ",") this.advance();
      else if (sep !== "]") throw GIVE_UP; // e.g. a single-pair mapping `[a: b]`
    }
  }

  /** Read a quoted or plain scalar on one line. */
  private scalar(): { text: string; plain: boolean } {
    const line = this.lines[this.line] as Line;
    const rest = line.content.slice(this.column - line.indent);
    const q = rest.charAt(0);
    if (q === '"' || q === "'") {
      const end = quotedEnd(rest, q);
      const quoted = rest.slice(0, end + 1);
      this.column += end + 1;
      try {
        return {
          text: q === '"' ? (JSON.parse(quoted) as string) : quoted.slice(1, -1).replaceAll("''", "'"),
          plain: false,
        };
      } catch {
        throw GIVE_UP;
      }
    }
    let i = 0;
    while (i < rest.length) {
      const ch = rest.charAt(i);
      if (ch === "," || ch === "]" || ch === "}" || ch === "[" || ch === "{") break;
      if (ch === ":" && (i + 1 === rest.length || " ,]}".includes(rest.charAt(i + 1)))) break;
      if (ch === "#" && i > 0 && rest.charAt(i - 1) === " ") throw GIVE_UP;
      i++;
    }
    if (i === rest.length) throw GIVE_UP; // a plain scalar continuing on the next line
    this.column += i;
    return { text: rest.slice(0, i).trimEnd(), plain: true };
  }
}
