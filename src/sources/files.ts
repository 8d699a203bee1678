/**
 * Reading inputs from the file system and stdin (an edge: the core never does I/O).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { InputError } from "../findings/finding.ts";
import { type ParseResult, parseStream } from "../resources/parse.ts";

const MANIFEST = /\.(ya?ml|json)$/i;

/** What was read: resources, errors, and chart directories found while walking (rendered by the caller). */
export interface LoadResult extends ParseResult {
  charts: string[];
}

/** Options for {@link loadPaths}. */
export interface LoadOptions {
  /** Reads stdin when a path is `-`. */
  readStdin: () => Promise<string>;
  /** Base for display names (file names are shown relative to it when inside it). */
  cwd: string;
}

/**
 * Load files, directories (recursive: .yaml, .yml, .json; hidden folders skipped) and `-`
 * (stdin). Directories holding a Chart.yaml are returned in `charts`, not read as YAML. Never
 * throws: an unreadable path is an error and the others are still read. Files are read in
 * sorted order so output is deterministic.
 */
export async function loadPaths(paths: readonly string[], options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { resources: [], errors: [], charts: [] };
  for (const path of paths) {
    if (path === "-") {
      merge(result, parseStream(await options.readStdin(), "<stdin>"));
      continue;
    }
    await loadPath(path, true, options, result);
  }
  return result;
}

async function loadPath(
  path: string,
  explicit: boolean,
  options: LoadOptions,
  result: LoadResult,
): Promise<void> {
  const display = displayName(path, options.cwd);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (e) {
    result.errors.push(fileError(display, e));
    return;
  }
  if (info.isDirectory()) {
    let entries: string[];
    try {
      entries = (await readdir(path)).sort();
    } catch (e) {
      result.errors.push(fileError(display, e));
      return;
    }
    if (entries.includes("Chart.yaml")) {
      result.charts.push(path);
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith(".") || entry === "node_modules") continue;
      const child = join(path, entry);
      let childInfo: Awaited<ReturnType<typeof stat>>;
      try {
        childInfo = await stat(child);
      } catch (e) {
        result.errors.push(fileError(displayName(child, options.cwd), e));
        continue;
      }
      if (childInfo.isDirectory() || MANIFEST.test(entry)) await loadPath(child, false, options, result);
    }
    return;
  }
  if (!explicit && !MANIFEST.test(path)) return;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    result.errors.push(fileError(display, e));
    return;
  }
  merge(result, parseStream(text, display));
}

function displayName(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== "" && !rel.startsWith("..") ? rel : path;
}

function merge(into: ParseResult, from: ParseResult): void {
  into.resources.push(...from.resources);
  into.errors.push(...from.errors);
}

/** An input error for a file that could not be read, with the system's reason. */
export function fileError(file: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES"
        ? "permission denied"
        : code === "EISDIR"
          ? "is a directory"
          : e instanceof Error
            ? e.message
            : String(e);
  return { file, message: `cannot read: ${reason}` };
}
