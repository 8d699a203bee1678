/**
 * belay reads YAML as kubectl and the API server do (sigs.k8s.io/yaml over go-yaml v2: YAML
 * 1.1 scalars, duplicate keys keep the last value), proved against kube-apiserver v1.37.
 *
 * Each case is a Pod manifest POSTed as `application/yaml` (server-side dry-run) twice:
 * - into a namespace enforcing a PSS level at v1.37: the API server admits it, denies it by
 *   PodSecurity, or rejects it as invalid (400: the value cannot be decoded into the Go
 *   field's type; 422: validation), and belay, parsing the same bytes with `parseStream` and
 *   running the same level's rules at v1.37, must say the same: no violation, a violation, or
 *   for an invalid value no violation (the value has another type than the field, and belay
 *   must not claim a violation on it);
 * - into a namespace that enforces nothing, where the API server returns the object it
 *   decoded: the value of the field under test must equal belay's parsed value.
 * The server's verdict is asserted too, so a change in how Kubernetes reads YAML shows here.
 *
 * Known divergences of belay's loader (src/resources/yaml11.ts, parse.ts) are cases with a
 * `bug`: their test asserts the divergence exactly as observed, so it fails once the loader
 * is fixed; then delete the `bug` entry and the case must agree.
 */

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PssLevel } from "../../src/findings/finding.ts";
import { type FieldPath, formatPath, getPath } from "../../src/resources/path.ts";
import {
  classify,
  dryRunPodsPath,
  formatFindings,
  mapLimit,
  type PssFinding,
  parseOne,
  pssFindings,
  pssRulesFor,
  type RawClient,
  rawClient,
  type ServerOutcome,
  type ServerVerdict,
} from "./pss-support.ts";
import { adminKubeConfig, createTestNamespace, describeCluster } from "./shared.ts";

/** The PSS version the enforcing namespaces pin, and belay evaluates at. */
const VERSION = 37;

/**
 * The Go type of the field under test: tells an undecodable value from a decoded one, and
 * whether the API server omits the zero value when it encodes the object (`omitempty` on a
 * non-pointer field: `hostNetwork: false` and `hostPort: 0` come back unset).
 */
type GoType = "*bool" | "bool" | "*int64" | "int32" | "string";

interface YamlCase {
  /** The YAML that differs from a compliant pod, e.g. `privileged: yes`. */
  title: string;
  level: PssLevel;
  yaml: string;
  path: FieldPath;
  goType: GoType;
  /** What the API server does in the enforcing namespace. */
  server: ServerVerdict;
  /** Query parameters appended to the create (after `dryRun=All`). */
  query?: string;
  /** A warning the API server must send (e.g. about a duplicate key). */
  warning?: RegExp;
  /**
   * belay's verdict when it deliberately differs from the default reading of `server`
   * (admitted or invalid: no violation; podsecurity: a violation), with the reason.
   */
  belay?: { violation: boolean; why: string };
  /** A known loader divergence: belay's value at `path`, and what goes wrong. */
  bug?: { belayValue: unknown; note: string };
}

// ---------------------------------------------------------------------------------------
// Manifests

const PRIVILEGED: FieldPath = ["spec", "containers", 0, "securityContext", "privileged"];
const RUN_AS_USER: FieldPath = ["spec", "containers", 0, "securityContext", "runAsUser"];
const HOST_PORT: FieldPath = ["spec", "containers", 0, "ports", 0, "hostPort"];
const IMAGE: FieldPath = ["spec", "containers", 0, "image"];

/**
 * A baseline-compliant pod. `container` and `spec` are extra YAML lines, indented by the
 * caller, for the container and the pod spec.
 */
function baselinePod(container: string, spec = "", image = "registry.k8s.io/pause"): string {
  return [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: yaml-fidelity",
    "spec:",
    ...(spec === "" ? [] : [spec]),
    "  containers:",
    "  - name: c",
    `    image: ${image}`,
    ...(container === "" ? [] : [container]),
    "",
  ].join("\n");
}

/** A restricted-compliant pod whose container sets `runAsUser: <value>`. */
function restrictedPodRunAsUser(value: string): string {
  return [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: yaml-fidelity",
    "spec:",
    "  securityContext:",
    "    runAsNonRoot: true",
    "    seccompProfile:",
    "      type: RuntimeDefault",
    "  containers:",
    "  - name: c",
    "    image: registry.k8s.io/pause",
    "    securityContext:",
    "      allowPrivilegeEscalation: false",
    "      capabilities:",
    "        drop: [ALL]",
    `      runAsUser: ${value}`,
    "",
  ].join("\n");
}

function privileged(value: string, server: ServerVerdict, extra: Partial<YamlCase> = {}): YamlCase {
  return {
    title: `privileged: ${value}`,
    level: "baseline",
    yaml: baselinePod(`    securityContext:\n      privileged: ${value}`),
    path: PRIVILEGED,
    goType: "*bool",
    server,
    ...extra,
  };
}

function hostNamespace(field: string, value: string, server: ServerVerdict): YamlCase {
  return {
    title: `${field}: ${value}`,
    level: "baseline",
    yaml: baselinePod("", `  ${field}: ${value}`),
    path: ["spec", field],
    goType: "bool",
    server,
  };
}

function runAsUser(value: string, server: ServerVerdict, bug?: YamlCase["bug"]): YamlCase {
  return {
    title: `runAsUser: ${value}`,
    level: "restricted",
    yaml: restrictedPodRunAsUser(value),
    path: RUN_AS_USER,
    goType: "*int64",
    server,
    ...(bug === undefined ? {} : { bug }),
  };
}

function hostPort(value: string, server: ServerVerdict, bug?: YamlCase["bug"]): YamlCase {
  return {
    title: `hostPort: ${value}`,
    level: "baseline",
    yaml: baselinePod(`    ports:\n    - containerPort: 80\n      hostPort: ${value}`),
    path: HOST_PORT,
    goType: "int32",
    server,
    ...(bug === undefined ? {} : { bug }),
  };
}

/**
 * A baseline case on `privileged` whose container `securityContext` (the YAML after the key)
 * uses anchors defined in `anchors`: unknown pod spec fields, which the API server drops
 * (with a warning) and belay ignores.
 */
function anchored(
  title: string,
  securityContext: string,
  anchors: string,
  server: ServerVerdict,
  extra: Partial<YamlCase> = {},
): YamlCase {
  return {
    title,
    level: "baseline",
    yaml: baselinePod(`    securityContext:${securityContext}`, anchors),
    path: PRIVILEGED,
    goType: "*bool",
    server,
    ...extra,
  };
}

/** An anchored `{privileged: true}`. */
const SC = "  x-defaults: &sc {privileged: true}";

const DUPLICATE = /key "privileged" already set in map/;

/** The cases, in the order of the printed table. */
const CASES: readonly YamlCase[] = [
  // YAML 1.1 booleans: exactly these spellings, nothing else.
  ...["yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "true", "True", "TRUE"].map((v) =>
    privileged(v, "podsecurity"),
  ),
  ...["no", "No", "NO", "off", "Off", "OFF", "n", "N", "false", "False", "FALSE"].map((v) =>
    privileged(v, "admitted"),
  ),
  ...["~", "null", "Null", "NULL", ""].map((v) => privileged(v, "admitted")),
  ...["yEs", '"yes"', "'on'", "!!str yes", "1", "0X1"].map((v) => privileged(v, "invalid")),
  hostNamespace("hostNetwork", "On", "podsecurity"),
  hostNamespace("hostPID", "y", "podsecurity"),
  hostNamespace("hostIPC", "YES", "podsecurity"),
  hostNamespace("hostNetwork", "off", "admitted"),
  hostNamespace("hostNetwork", '"On"', "invalid"),
  // YAML 1.1 integers: octal with a leading 0, 0o/0x/0b prefixes, underscores, floats.
  ...["00", "0", "0_0", "+0", "-0", "0o0", "0x0", "0x_0", "0b0", "-0b0", "0.0", "0e0", ".0"].map((v) =>
    runAsUser(v, "podsecurity"),
  ),
  ...["0755", "0o755", "1_000", "0x3E8", "0b1111101000", "0789", "1e3", "1.0"].map((v) =>
    runAsUser(v, "admitted"),
  ),
  ...["0.5", '"0"', "!!str 0", "1:30", "0x"].map((v) => runAsUser(v, "invalid")),
  runAsUser("0X0", "podsecurity"),
  runAsUser("0O0", "podsecurity"),
  runAsUser("0B0", "podsecurity"),
  runAsUser("-.0", "podsecurity"),
  runAsUser("+.0", "podsecurity"),
  runAsUser("0._", "podsecurity"),
  runAsUser("_0", "invalid"),
  ...["00", "0x0"].map((v) => hostPort(v, "admitted")),
  ...["010", "0177777"].map((v) => hostPort(v, "podsecurity")),
  hostPort("0X1F", "podsecurity"),
  hostPort("0X0", "admitted"),
  // Strings stay strings: a YAML 1.1 timestamp is kept as written; a boolean is no string.
  {
    title: "image: 2001-01-01",
    level: "baseline",
    yaml: baselinePod("", "", "2001-01-01"),
    path: IMAGE,
    goType: "string",
    server: "admitted",
  },
  {
    title: "image: yes",
    level: "baseline",
    yaml: baselinePod("", "", "yes"),
    path: IMAGE,
    goType: "string",
    server: "invalid",
  },
  // Duplicate keys: the last one wins, with a warning (fieldValidation defaults to Warn).
  privileged("false\n      privileged: true", "podsecurity", {
    title: "privileged: false, then true",
    warning: DUPLICATE,
  }),
  privileged("true\n      privileged: false", "admitted", {
    title: "privileged: true, then false",
    warning: DUPLICATE,
  }),
  {
    title: "securityContext: {privileged: true}, then {runAsNonRoot: false}",
    level: "baseline",
    yaml: baselinePod(
      "    securityContext:\n      privileged: true\n    securityContext:\n      runAsNonRoot: false",
    ),
    path: PRIVILEGED,
    goType: "*bool",
    server: "admitted",
    warning: /key "securityContext" already set in map/,
  },
  privileged("false\n      privileged: true", "invalid", {
    title: "privileged: false, then true, fieldValidation=Strict",
    query: "&fieldValidation=Strict",
    belay: {
      violation: true,
      why: "strict field validation (kubectl's default, --validate=strict) rejects duplicate keys; belay reads what the API server stores without it, the last value",
    },
  }),
  // Anchors and aliases; merge keys (the anchored map sits in an unknown field the server drops).
  anchored("securityContext: *sc, sc = {privileged: true}", " *sc", SC, "podsecurity"),
  anchored("securityContext: {<<: *sc}", "\n      <<: *sc", SC, "podsecurity"),
  anchored(
    "securityContext: {<<: *sc, privileged: false}",
    "\n      <<: *sc\n      privileged: false",
    SC,
    "admitted",
  ),
  anchored(
    "securityContext: {privileged: false, <<: *sc}",
    "\n      privileged: false\n      <<: *sc",
    SC,
    "podsecurity",
    { warning: DUPLICATE },
  ),
  anchored(
    "securityContext: {<<: [*t, *f]}, t = {privileged: true}, f = {privileged: false}",
    "\n      <<: [*t, *f]",
    "  x-t: &t {privileged: true}\n  x-f: &f {privileged: false}",
    "podsecurity",
  ),
];

// ---------------------------------------------------------------------------------------
// Running a case

interface CaseResult {
  yamlCase: YamlCase;
  enforced: ServerOutcome;
  /** The create in the namespace that enforces nothing: the decoded object, if admitted. */
  echoed: ServerOutcome;
  serverValue: unknown;
  belayValue: unknown;
  findings: PssFinding[];
}

/**
 * A field's value as the API server encodes it: `null` is unset, `-0` is 0, and the zero
 * value of a non-pointer field is omitted.
 */
function normalize(value: unknown, type: GoType): unknown {
  if (value === null || value === undefined) return undefined;
  const normalized = typeof value === "number" ? value + 0 : value;
  if (!type.startsWith("*") && (normalized === false || normalized === 0 || normalized === "")) {
    return undefined;
  }
  return normalized;
}

/** Whether `value` is what a Go field of `type` can hold (JSON-wise). */
function hasGoType(value: unknown, type: GoType): boolean {
  switch (type.replace("*", "")) {
    case "bool":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    default:
      return typeof value === "number" && Number.isInteger(value);
  }
}

function show(value: unknown): string {
  return value === undefined ? "(unset)" : JSON.stringify(value);
}

/** The verdict belay should give for a case when it agrees with the API server. */
function expectedBelayViolation(c: YamlCase): boolean {
  return c.belay?.violation ?? c.server === "podsecurity";
}

function describeResult(r: CaseResult): string {
  const c = r.yamlCase;
  return [
    `${c.title} (${c.level} at v1.${VERSION}), ${formatPath(c.path)}`,
    `  API server: ${r.enforced.status} ${r.enforced.verdict}${r.enforced.message === "" ? "" : `: ${r.enforced.message}`}`,
    `  API server decodes ${show(r.serverValue)}${r.echoed.verdict === "admitted" ? "" : ` (${r.echoed.status}: ${r.echoed.message})`}`,
    `  belay parses ${show(r.belayValue)}; findings:`,
    formatFindings(r.findings),
  ].join("\n");
}

describeCluster("belay reads YAML like the API server", () => {
  let kc: KubeConfig;
  let client: RawClient;
  const results = new Map<YamlCase, CaseResult>();

  beforeAll(async () => {
    kc = await adminKubeConfig();
    client = await rawClient(kc, 8);
    const enforcing = (level: PssLevel) =>
      createTestNamespace(kc, `yaml-${level}`, {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": `v1.${VERSION}`,
      });
    const [baseline, restricted, open] = await Promise.all([
      enforcing("baseline"),
      enforcing("restricted"),
      createTestNamespace(kc, "yaml-echo", { "pod-security.kubernetes.io/enforce": "privileged" }),
    ]);
    const namespaces: Record<PssLevel, string> = { baseline, restricted };
    await mapLimit(CASES, 8, async (c) => {
      const post = (namespace: string) =>
        client.send("POST", dryRunPodsPath(namespace, c.query ?? ""), c.yaml, "application/yaml");
      const enforced = classify(await post(namespaces[c.level]));
      const echoedResponse = await post(open);
      const echoed = classify(echoedResponse);
      const resource = parseOne(c.yaml, `${c.title}.yaml`);
      results.set(c, {
        yamlCase: c,
        enforced,
        echoed,
        serverValue:
          echoed.verdict === "admitted" ? getPath(JSON.parse(echoedResponse.body), c.path) : undefined,
        belayValue: getPath(resource.object, c.path),
        findings: pssFindings(resource, pssRulesFor(c.level, VERSION), VERSION),
      });
    });
  });

  afterAll(() => {
    client?.close();
  });

  function resultOf(c: YamlCase): CaseResult {
    const result = results.get(c);
    if (result === undefined) throw new Error(`${c.title}: not run`);
    return result;
  }

  describe("cases where belay agrees", () => {
    for (const c of CASES.filter((x) => x.bug === undefined)) {
      it(`${c.title} → ${c.server}`, () => {
        const r = resultOf(c);
        const context = describeResult(r);
        expect(r.enforced.verdict, context).toBe(c.server);
        if (c.warning !== undefined) {
          expect(
            r.enforced.warnings.some((w) => c.warning?.test(w)),
            context,
          ).toBe(true);
        }
        expect(r.findings.length > 0, context).toBe(expectedBelayViolation(c));
        if (r.echoed.verdict === "admitted") {
          // The API server decoded the value: belay must have read the same one.
          expect(normalize(r.belayValue, c.goType), context).toEqual(normalize(r.serverValue, c.goType));
        } else if (c.belay === undefined) {
          // The API server cannot decode the value into the field: belay's has another type.
          expect(r.echoed.verdict, context).toBe("invalid");
          expect(hasGoType(r.belayValue, c.goType), context).toBe(false);
        }
      });
    }
  });

  // Divergences found and not yet fixed are listed with `bug`; none are open now.
  if (CASES.some((x) => x.bug !== undefined)) {
    describe("known loader divergences (each test fails once the loader is fixed)", () => {
      for (const c of CASES.filter((x) => x.bug !== undefined)) {
        it(`KNOWN LOADER BUG: ${c.title} → API server ${c.server}, belay reads ${show(c.bug?.belayValue)}`, () => {
          const r = resultOf(c);
          const context = `${describeResult(r)}\n  why: ${c.bug?.note}`;
          expect(r.enforced.verdict, context).toBe(c.server);
          if (c.warning !== undefined) {
            expect(
              r.enforced.warnings.some((w) => c.warning?.test(w)),
              context,
            ).toBe(true);
          }
          expect(r.belayValue, context).toEqual(c.bug?.belayValue);
          const valuesDiffer =
            r.echoed.verdict !== "admitted" ||
            JSON.stringify(normalize(r.belayValue, c.goType)) !==
              JSON.stringify(normalize(r.serverValue, c.goType));
          expect(valuesDiffer, context).toBe(true);
        });
      }
    });
  }

  it("prints the cases", () => {
    const rows = [
      ["case", "API server", "decodes", "belay reads", "belay verdict", ""],
      ...CASES.map((c) => {
        const r = resultOf(c);
        return [
          c.title,
          `${r.enforced.status} ${r.enforced.verdict}`,
          show(r.serverValue),
          show(r.belayValue),
          r.findings.length > 0 ? "violation" : "no violation",
          c.bug !== undefined ? "LOADER BUG" : c.belay !== undefined ? "differs by design" : "agree",
        ];
      }),
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
    const notes = [...new Set(CASES.flatMap((c) => [c.bug?.note, c.belay?.why]))].filter(
      (note): note is string => note !== undefined,
    );
    console.log(
      [
        `YAML as kube-apiserver reads it vs belay (${CASES.length} cases)`,
        ...rows.map((row) =>
          row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd(),
        ),
        "",
        ...notes.map((note) => `- ${note}`),
      ].join("\n"),
    );
    expect(results.size).toBe(CASES.length);
  });
});
