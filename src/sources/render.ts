/**
 * Helm charts and Kustomize overlays, rendered by the user's own tools (an edge).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { InputError } from "../findings/finding.ts";
import { makeResource, type ParseResult, parseStream } from "../resources/parse.ts";
import type { Resource } from "../resources/types.ts";

/** Output of a tool run, or why it failed. */
type RunResult = { ok: true; stdout: string } | { ok: false; missing: boolean; message: string };

const MAX_OUTPUT = 256 * 1024 * 1024;

function run(tool: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      tool,
      args,
      { maxBuffer: MAX_OUTPUT, env: env ?? process.env, timeout: 300_000 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, stdout });
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT")
          return resolve({ ok: false, missing: true, message: `${tool} not found on PATH` });
        const detail = String(stderr).trim().split("\n").slice(-5).join("\n") || error.message;
        resolve({ ok: false, missing: false, message: `${tool} ${args[0]} failed: ${detail}` });
      },
    );
  });
}

/** Options of a Helm render. */
export interface HelmOptions {
  values?: readonly string[];
  set?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Render a chart with `helm template` and parse the output. Never throws: a missing helm or a
 * failed render is an input error naming the chart.
 *
 * Positions of findings: `helm template` prints each rendered document as
 * `---`, `# Source: <chart-name>/<path in chart>`, then the document. An object's file is the
 * template it came from, `join(chart, <path in chart>)` (e.g. `charts/web/templates/deployment.yaml`;
 * for a subchart `charts/web/charts/db/templates/x.yaml`). Its line is 1-based within the
 * rendered document, the text after the `# Source:` line: line 1 is the document's first line,
 * exactly as `helm template --show-only <path>` prints it below its header. It is a line of
 * helm's output, not of the template source (template logic adds and removes lines). Output
 * without a `# Source:` comment keeps file `<chart> (helm template)` and its line in the whole
 * output; so do YAML errors in the output.
 */
export async function renderHelm(chart: string, options: HelmOptions = {}): Promise<ParseResult> {
  const args = ["template", "belay-scan", chart];
  for (const file of options.values ?? []) args.push("--values", file);
  for (const pair of options.set ?? []) args.push("--set", pair);
  const result = await run("helm", args, options.env);
  if (!result.ok) {
    const message = result.missing
      ? "cannot render Helm chart: helm is not on PATH; install Helm 3 (https://helm.sh/docs/intro/install/) or scan the output of `helm template` instead"
      : `cannot render Helm chart: ${result.message}`;
    return { resources: [], errors: [{ file: chart, message }] };
  }
  const parsed = parseStream(result.stdout, `${chart} (helm template)`);
  return { resources: parsed.resources.map((r) => withHelmSource(r, chart)), errors: parsed.errors };
}

const SOURCE_COMMENT = /^# Source: (.+)$/m;

function withHelmSource(resource: Resource, chart: string): Resource {
  const source = resource.source;
  const match = source ? SOURCE_COMMENT.exec(source.text) : null;
  if (!source || !match) return resource;
  // "# Source: <chart-name>/templates/x.yaml": drop the chart name, keep the path inside the chart.
  const inside = (match[1] as string).split("/").slice(1).join("/");
  // The document starts on the line after the comment: drop the `---` and `# Source:` lines so
  // that line 1 is the document's first line.
  const end = match.index + match[0].length;
  const text = source.text.slice(source.text[end] === "\n" ? end + 1 : end);
  return makeResource(resource.object, { ...source, file: join(chart, inside), text, lineOffset: 0 });
}

/**
 * Build a Kustomize directory with `kustomize build`, or `kubectl kustomize` when kustomize is
 * absent, and parse the output. Never throws.
 */
export async function renderKustomize(dir: string, env?: NodeJS.ProcessEnv): Promise<ParseResult> {
  let result = await run("kustomize", ["build", dir], env);
  if (!result.ok && result.missing) result = await run("kubectl", ["kustomize", dir], env);
  if (!result.ok) {
    const message = result.missing
      ? "cannot build Kustomize directory: neither kustomize nor kubectl is on PATH; install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl"
      : `cannot build Kustomize directory: ${result.message}`;
    const error: InputError = { file: dir, message };
    return { resources: [], errors: [error] };
  }
  return parseStream(result.stdout, `${dir} (kustomize build)`);
}
