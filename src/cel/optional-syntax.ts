/**
 * CEL optional syntax for `@bufbuild/cel`'s parser, which lacks it: a same-length
 * source-to-source rewrite. Each `?` of `a.?b`, `m[?k]`, `[?x, ...]` and `{?k: v}` is replaced
 * by a space (so every parser position stays valid for error messages) and its place is
 * recorded; the interpreter then treats the select, index, list element or map entry found at
 * that position as optional, with cel-go's semantics.
 */
import type { OptionalMarks } from "./interpreter.ts";

/** The rewritten source and where the optional markers were. */
export interface OptionalRewrite {
  source: string;
  marks: OptionalMarks;
  /** True if any optional syntax was found. */
  used: boolean;
}

interface Frame {
  kind: "list" | "map" | "index" | "paren" | "struct";
  offset: number;
  element: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

/** Rewrites optional syntax away; never throws (unbalanced input is left for the parser to report). */
export function rewriteOptionalSyntax(src: string): OptionalRewrite {
  const out = src.split("");
  const selects = new Set<number>();
  const indexes = new Set<number>();
  const listElements = new Map<number, Set<number>>();
  const mapEntries = new Map<number, Set<number>>();
  const stack: Frame[] = [];
  let prevIsValue = false;
  let used = false;

  const skipSpace = (j: number): number => {
    while (j < src.length) {
      const c = src[j] as string;
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") j++;
      else if (c === "/" && src[j + 1] === "/") {
        while (j < src.length && src[j] !== "\n") j++;
      } else break;
    }
    return j;
  };
  /** If a `?` follows (after blanks) position j, blanks it and returns true. */
  const takeQuestion = (j: number): boolean => {
    const q = skipSpace(j);
    if (src[q] === "?") {
      out[q] = " ";
      used = true;
      return true;
    }
    return false;
  };
  const mark = (m: Map<number, Set<number>>, frame: Frame): void => {
    let s = m.get(frame.offset);
    if (s === undefined) {
      s = new Set();
      m.set(frame.offset, s);
    }
    s.add(frame.element);
  };

  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") {
      i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === '"' || c === "'") {
      // String or bytes literal; a raw prefix (r, R, br, rb...) was consumed as an identifier.
      const prev = src.slice(Math.max(0, i - 2), i).toLowerCase();
      const raw =
        prev.endsWith("r") &&
        (i < 2 || !IDENT_PART.test(src[i - 2] as string) || prev === "br" || prev === "rb");
      const triple = src.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      i += close.length;
      while (i < src.length && !src.startsWith(close, i)) {
        if (!raw && src[i] === "\\") i++;
        if (!triple && src[i] === "\n") break;
        i++;
      }
      i += close.length;
      prevIsValue = true;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      i++;
      while (i < src.length && /[0-9A-Za-z_.]/.test(src[i] as string)) {
        if ((src[i] === "e" || src[i] === "E") && (src[i + 1] === "+" || src[i + 1] === "-")) i++;
        i++;
      }
      prevIsValue = true;
      continue;
    }
    if (IDENT_START.test(c)) {
      while (i < src.length && IDENT_PART.test(src[i] as string)) i++;
      const word = src.slice(0, i).match(/[A-Za-z_][A-Za-z0-9_]*$/)?.[0];
      prevIsValue = word !== "in";
      continue;
    }
    if (c === "`") {
      i++;
      while (i < src.length && src[i] !== "`") i++;
      i++;
      prevIsValue = true;
      continue;
    }
    switch (c) {
      case ".":
        if (takeQuestion(i + 1)) selects.add(i);
        prevIsValue = false;
        break;
      case "[": {
        if (prevIsValue) {
          stack.push({ kind: "index", offset: i, element: 0 });
          if (takeQuestion(i + 1)) indexes.add(i);
        } else {
          const f: Frame = { kind: "list", offset: i, element: 0 };
          stack.push(f);
          if (takeQuestion(i + 1)) mark(listElements, f);
        }
        prevIsValue = false;
        break;
      }
      case "{": {
        const f: Frame = { kind: prevIsValue ? "struct" : "map", offset: i, element: 0 };
        stack.push(f);
        if (f.kind === "map" && takeQuestion(i + 1)) mark(mapEntries, f);
        prevIsValue = false;
        break;
      }
      case "(":
        stack.push({ kind: "paren", offset: i, element: 0 });
        prevIsValue = false;
        break;
      case ",": {
        const f = stack[stack.length - 1];
        if (f !== undefined) {
          f.element++;
          if (f.kind === "list" && takeQuestion(i + 1)) mark(listElements, f);
          else if (f.kind === "map" && takeQuestion(i + 1)) mark(mapEntries, f);
        }
        prevIsValue = false;
        break;
      }
      case ")":
      case "]":
      case "}":
        stack.pop();
        prevIsValue = true;
        break;
      default:
        prevIsValue = false;
    }
    i++;
  }
  return { source: out.join(""), marks: { selects, indexes, listElements, mapEntries }, used };
}
