/**
 * `belay install`: print or apply belay's webhook (and controller) with everything it needs,
 * and `--check` webhook configurations for settings that could lock out the control plane.
 * Thin: flags → src/install → YAML or the API server.
 */
import type { Command } from "commander";
import { stringify } from "yaml";
import { applyObject, readSecret, waitForReady } from "../install/apply.ts";
import {
  checkWebhookConfiguration,
  formatProblem,
  isWebhookConfiguration,
  MAX_TIMEOUT_SECONDS,
} from "../install/check.ts";
import { loadReportCrds } from "../install/crds.ts";
import {
  defaultImage,
  type InstallOptions,
  installObjects,
  MAX_WEBHOOK_CPUS,
  NAMES,
  RESERVED_NAMESPACES,
} from "../install/manifests.ts";
import {
  certProblems,
  currentCaPem,
  generateWebhookCerts,
  readWebhookCerts,
  type WebhookCerts,
} from "../install/pki.ts";
import { type KubeClient, loadKubeConfig, makeKubeClient } from "../kube/index.ts";
import type { KubeObject } from "../resources/types.ts";
import { loadPaths } from "../sources/files.ts";
import { VERSION } from "../version.ts";
import { type CliIO, EXIT, UsageError } from "./io.ts";

/** Parsed `install` flags. */
export interface InstallFlags {
  print?: boolean;
  apply?: boolean;
  check?: boolean | string;
  namespace: string;
  context?: string;
  replicas: string;
  webhookCpus: string;
  image?: string;
  failurePolicy: string;
  timeoutSeconds: string;
  withoutController?: boolean;
  certDir?: string;
  rotateCerts?: boolean;
  wait: string;
}

/** Register `install` on the program; the action sets `state.exitCode`. */
export function registerInstall(program: Command, io: CliIO, state: { exitCode: number }): void {
  program
    .command("install")
    .description(
      "Print or apply belay's admission webhook and audit controller (namespace, RBAC, certificates, Deployments, webhook registration), or check a webhook configuration for control-plane lockouts",
    )
    .option(
      "--print",
      "write the objects as multi-document YAML to stdout (includes the webhook's TLS private key)",
    )
    .option("--apply", "apply the objects to the cluster with server-side apply (after --check)")
    .option(
      "--check [file]",
      "check belay's webhook configuration, or the Validating/MutatingWebhookConfigurations in FILE (- for stdin), for settings that could lock out the control plane; exit 1 when unsafe",
    )
    .option("-n, --namespace <ns>", "namespace belay runs in", "belay-system")
    .option("--context <name>", "kubeconfig context for --apply (default: the current one)")
    .option("--replicas <n>", "webhook replicas (2 or more)", "2")
    .option(
      "--webhook-cpus <n>",
      `CPUs per webhook pod, 1…${MAX_WEBHOOK_CPUS}: its CPU limit and as many worker processes (512Mi of memory limit each)`,
      "1",
    )
    .option("--image <ref>", `container image (default ${defaultImage(VERSION)})`)
    .option(
      "--failure-policy <policy>",
      "webhook failurePolicy when belay cannot answer: Fail or Ignore",
      "Fail",
    )
    .option("--timeout-seconds <n>", `webhook timeoutSeconds, 1 to ${MAX_TIMEOUT_SECONDS}`, "3")
    .option("--without-controller", "install only the webhook (no audit controller, no report CRDs)")
    .option(
      "--cert-dir <dir>",
      "use ca.crt, tls.crt and tls.key from DIR instead of generating a certificate",
    )
    .option(
      "--rotate-certs",
      "with --apply: generate a new certificate even when the installed one is still valid",
    )
    .option(
      "--wait <duration>",
      "with --apply: how long to wait for a ready webhook pod before registering the webhook (e.g. 90s, 2m; 0 registers at once)",
      "2m",
    )
    .action(async (flags: InstallFlags) => {
      state.exitCode = await runInstall(flags, io);
    });
}

/** A duration `90s`, `2m` or `0` in milliseconds, or undefined when malformed. */
function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === "m" ? 60_000 : 1000);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validate the flags into install options; every problem is listed. */
function resolveOptions(flags: InstallFlags): { options: InstallOptions; problems: string[] } {
  const problems: string[] = [];
  const ns = flags.namespace;
  if (!DNS_LABEL.test(ns) || ns.length > 63)
    problems.push(
      `--namespace: "${ns}" is not a valid namespace name (lowercase letters, digits and "-", at most 63)`,
    );
  else if (RESERVED_NAMESPACES.includes(ns))
    problems.push(
      `--namespace: "${ns}" is not belay's own; belay labels its namespace Pod Security restricted and excludes it from its webhook, so give it one of its own (default belay-system)`,
    );
  const replicas = /^\d+$/.test(flags.replicas) ? Number(flags.replicas) : Number.NaN;
  if (Number.isNaN(replicas) || replicas < 2)
    problems.push(
      `--replicas: "${flags.replicas}" must be a number of 2 or more; with one replica every rollout or node drain is an outage of admission`,
    );
  const webhookCpus = /^\d+$/.test(flags.webhookCpus) ? Number(flags.webhookCpus) : Number.NaN;
  if (Number.isNaN(webhookCpus) || webhookCpus < 1 || webhookCpus > MAX_WEBHOOK_CPUS)
    problems.push(
      `--webhook-cpus: "${flags.webhookCpus}" must be a whole number from 1 to ${MAX_WEBHOOK_CPUS}; each CPU runs one webhook worker process`,
    );
  const image = flags.image ?? defaultImage(VERSION);
  if (image === "" || /\s/.test(image)) problems.push(`--image: "${image}" is not an image reference`);
  if (flags.failurePolicy !== "Fail" && flags.failurePolicy !== "Ignore")
    problems.push(`--failure-policy: "${flags.failurePolicy}" must be Fail or Ignore`);
  const timeout = /^\d+$/.test(flags.timeoutSeconds) ? Number(flags.timeoutSeconds) : Number.NaN;
  if (Number.isNaN(timeout) || timeout < 1 || timeout > MAX_TIMEOUT_SECONDS)
    problems.push(
      `--timeout-seconds: "${flags.timeoutSeconds}" must be 1 to ${MAX_TIMEOUT_SECONDS}; the API server waits this long on every matched request when belay is slow`,
    );
  return {
    options: {
      namespace: ns,
      replicas,
      webhookCpus,
      image,
      failurePolicy: flags.failurePolicy === "Ignore" ? "Ignore" : "Fail",
      timeoutSeconds: timeout,
      controller: flags.withoutController !== true,
      version: VERSION,
    },
    problems,
  };
}

/** Run `install`. Returns the exit code; throws UsageError listing every problem of the flags. */
export async function runInstall(flags: InstallFlags, io: CliIO): Promise<number> {
  const modes = [
    flags.print && "--print",
    flags.apply && "--apply",
    typeof flags.check === "string" && "--check FILE",
  ].filter((m): m is string => typeof m === "string");
  if (modes.length > 1) throw new UsageError(`install: ${modes.join(" and ")} cannot be combined`);
  if (modes.length === 0 && flags.check === undefined)
    throw new UsageError("install: say what to do: --print, --apply, or --check [FILE]");
  if (typeof flags.check === "string") return checkFile(flags.check, flags.namespace, io);

  const { options, problems } = resolveOptions(flags);
  const wait = parseDuration(flags.wait);
  if (wait === undefined) problems.push(`--wait: "${flags.wait}" is not a duration (e.g. 90s, 2m, 0)`);
  if (flags.certDir !== undefined && flags.rotateCerts)
    problems.push(
      "--rotate-certs: cannot be combined with --cert-dir (rotate the files in the directory instead)",
    );
  if (problems.length > 0) throw new UsageError(`install:\n${problems.map((p) => `  ${p}`).join("\n")}`);

  if (!flags.print && !flags.apply) {
    // --check alone: belay's own configuration for these flags (certificates do not matter).
    const objects = installObjects(options, { caCert: "", tlsCert: "", tlsKey: "" }, []);
    return reportCheck(objects, options.namespace, io, "belay install");
  }

  let client: KubeClient | undefined;
  if (flags.apply) {
    const kc = await loadKubeConfig(io.env, flags.context);
    if (!kc.ok) throw new UsageError(`install: ${kc.error.message}`);
    client = makeKubeClient(kc.value);
  }
  try {
    const certs = await resolveCerts(flags, options, client, io);
    const objects = installObjects(options, certs, options.controller ? await loadReportCrds() : []);
    if (flags.apply && client) {
      const unsafe = reportCheck(objects, options.namespace, io, "belay install", true);
      if (unsafe !== EXIT.clean) return unsafe;
      return await applyAll(client, objects, options, wait ?? 0, io);
    }
    const unsafe = reportCheck(objects, options.namespace, io, "belay install", true);
    if (unsafe !== EXIT.clean) return unsafe;
    io.stdout.write(renderYaml(objects));
    return EXIT.clean;
  } finally {
    client?.close();
  }
}

/** Multi-document YAML with a header saying what the output holds. */
function renderYaml(objects: readonly KubeObject[]): string {
  const header = [
    `# belay ${VERSION}: belay install --print`,
    `# Contains the webhook's TLS private key (Secret ${NAMES.tls}): keep this output as you keep Secrets.`,
  ].join("\n");
  return `${header}\n${objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join("")}`;
}

/**
 * The certificate to install: --cert-dir's files, else (with --apply) the installed Secret's
 * while it is valid for 30 more days, else a new one.
 */
async function resolveCerts(
  flags: InstallFlags,
  options: InstallOptions,
  client: KubeClient | undefined,
  io: CliIO,
): Promise<WebhookCerts> {
  if (flags.certDir !== undefined) {
    const read = await readWebhookCerts(flags.certDir, NAMES.webhook, options.namespace);
    if (!read.ok)
      throw new UsageError(
        `install: ${read.error.message}:\n${(read.error.details ?? []).map((d) => `  ${d}`).join("\n")}`,
      );
    return read.value;
  }
  if (!client) return generateWebhookCerts(NAMES.webhook, options.namespace);
  const existing = await readSecret(client, options.namespace, NAMES.tls);
  if (!existing.ok) throw new UsageError(`install: ${existing.error.message}`);
  if (existing.value === undefined) return generateWebhookCerts(NAMES.webhook, options.namespace);
  const data = (existing.value.data ?? {}) as Record<string, string>;
  const decode = (key: string) => Buffer.from(data[key] ?? "", "base64").toString("utf8");
  const installed = { caCert: decode("ca.crt"), tlsCert: decode("tls.crt"), tlsKey: decode("tls.key") };
  if (!flags.rotateCerts) {
    const problems = certProblems(installed, NAMES.webhook, options.namespace, { minValidDays: 30 });
    if (problems.length === 0) return installed;
    // Say why without quoting anything from the Secret.
    io.stderr.write(
      `belay: the installed certificate (secret/${NAMES.tls}) is replaced: ${problems.join("; ")}\n`,
    );
  }
  const fresh = await generateWebhookCerts(NAMES.webhook, options.namespace);
  // Trust the old CA too until it expires: pods still serving the old certificate (the
  // projected volume updates within about a minute) keep being accepted meanwhile.
  const previous = currentCaPem(installed.caCert);
  return previous === undefined ? fresh : { ...fresh, caCert: `${fresh.caCert}${previous}` };
}

function reportCheck(
  objects: readonly KubeObject[],
  namespace: string,
  io: CliIO,
  source: string,
  quietWhenSafe = false,
): number {
  const configs = objects.filter(isWebhookConfiguration);
  const problems = configs.flatMap((c) => checkWebhookConfiguration(c, namespace));
  const out = quietWhenSafe ? io.stderr : io.stdout;
  if (problems.length > 0) {
    out.write(`${problems.map((p) => `${source}: ${formatProblem(p)}`).join("\n")}\n`);
    return EXIT.findings;
  }
  if (!quietWhenSafe) {
    for (const c of configs) {
      const name = String((c.metadata as { name?: unknown } | undefined)?.name ?? "");
      const count = Array.isArray(c.webhooks) ? c.webhooks.length : 0;
      io.stdout.write(
        `${source}: ${String(c.kind)} "${name}": safe (${count} webhook${count === 1 ? "" : "s"} checked)\n`,
      );
    }
  }
  return EXIT.clean;
}

async function checkFile(file: string, namespace: string, io: CliIO): Promise<number> {
  const loaded = await loadPaths([file], { readStdin: io.readStdin, cwd: io.cwd });
  if (loaded.errors.length > 0)
    throw new UsageError(
      `install --check: ${loaded.errors.map((e) => `${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`).join("\n  ")}`,
    );
  const byFile = new Map<string, KubeObject[]>();
  for (const r of loaded.resources) {
    if (!isWebhookConfiguration(r.object)) continue;
    const source = r.source?.file ?? file;
    const list = byFile.get(source) ?? [];
    list.push(r.object);
    byFile.set(source, list);
  }
  if (byFile.size === 0)
    throw new UsageError(
      `install --check: no ValidatingWebhookConfiguration or MutatingWebhookConfiguration (admissionregistration.k8s.io) in ${file === "-" ? "<stdin>" : file}`,
    );
  let code: number = EXIT.clean;
  for (const [source, objects] of byFile) {
    if (reportCheck(objects, namespace, io, source) !== EXIT.clean) code = EXIT.findings;
  }
  return code;
}

async function applyAll(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: InstallOptions,
  waitMs: number,
  io: CliIO,
): Promise<number> {
  const registration = objects.filter(isWebhookConfiguration);
  const rest = objects.filter((o) => !isWebhookConfiguration(o));
  for (const object of rest) {
    const applied = await applyObject(client, object);
    if (!applied.ok) throw new UsageError(`install: ${applied.error.message}`);
    io.stdout.write(`${applied.value.object} ${applied.value.action}\n`);
  }
  if (waitMs > 0) {
    io.stderr.write(
      `belay: waiting up to ${waitMs / 1000}s for a ready ${NAMES.webhook} pod before registering the webhook\n`,
    );
    if (!(await waitForReady(client, options.namespace, NAMES.webhook, waitMs)))
      throw new UsageError(
        `install: deployment.apps/${NAMES.webhook} in ${options.namespace} has no ready pod after ${waitMs / 1000}s, so the webhook was not registered ` +
          `(with failurePolicy ${options.failurePolicy} an unanswered webhook ${options.failurePolicy === "Fail" ? "refuses" : "delays"} requests). ` +
          `Check: kubectl -n ${options.namespace} describe deployment ${NAMES.webhook}; then run belay install --apply again.`,
      );
  }
  for (const object of registration) {
    const applied = await applyObject(client, object);
    if (!applied.ok) throw new UsageError(`install: ${applied.error.message}`);
    io.stdout.write(`${applied.value.object} ${applied.value.action}\n`);
  }
  return EXIT.clean;
}
