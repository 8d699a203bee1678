/**
 * Fidelity of belay's Pod Security rules against the real thing: kube-apiserver v1.37's
 * PodSecurity admission, over every upstream pod-security-admission fixture
 * (test/fixtures/pss-upstream, see PROVENANCE.md there).
 *
 * For each level and each version directory v1.N, a namespace enforces (and warns at) that
 * level at exactly v1.N, and every fixture of that directory is created there with
 * server-side dry-run, as upstream's test/run.go does:
 * - as a Pod named `test` with `serviceAccountName: default` (run.go's createPod; the
 *   fixtures' own names, such as `capabilities_baseline0`, are not valid object names);
 * - as the pod template of a Deployment (run.go's createController): enforcement does not
 *   apply to workloads, so the verdict there is the `would violate PodSecurity` warning.
 * belay evaluates the very objects sent, with the rules of that level at v1.N (selected as
 * in test/pss-upstream.test.ts). The API server admitting a pod (or warning nothing about a
 * Deployment) must coincide with belay finding no violation, for every fixture.
 *
 * The API server rejects a few fixtures as Invalid before admission runs; they are listed
 * in {@link EXPECTED_INVALID} with the reason, and any other Invalid is a failure.
 */

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PssLevel } from "../../src/findings/finding.ts";
import { makeResource } from "../../src/resources/parse.ts";
import type { KubeObject } from "../../src/resources/types.ts";
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
} from "./pss-support.ts";
import { adminKubeConfig, createTestNamespace, describeCluster, sharedCluster } from "./shared.ts";

const UPSTREAM = path.join(import.meta.dirname, "..", "fixtures", "pss-upstream");
const LEVELS: readonly PssLevel[] = ["baseline", "restricted"];
/** Requests in flight (the API server allows 400 by default; 2 cores saturate well before). */
const CONCURRENCY = 24;

const PROC_MOUNT_NEEDS_USER_NAMESPACE =
  /securityContext\.procMount: Invalid value: "Unmasked": `hostUsers` must be false to use `Unmasked`/;

/**
 * Fixtures that the API server rejects as Invalid (422) before PodSecurity sees them, with
 * the message expected. All are fail fixtures of the baseline `procMount` check from v1.35
 * on: upstream generates them with `failRequiresError: true` ("the only combination that can
 * fail the 1.35 baseline check also fails validation": `procMount: Unmasked` with
 * `hostUsers: true`, which pod validation forbids), and run.go accepts any error naming
 * procMount for them, from a Pod and from a Deployment alike. The restricted level runs the
 * baseline check's fixtures too. belay must still report a violation for each.
 */
const EXPECTED_INVALID: ReadonlyMap<string, RegExp> = new Map(
  [
    "baseline/v1.35/fail/procmount0.yaml",
    "baseline/v1.35/fail/procmount1.yaml",
    "baseline/v1.36/fail/procmount0.yaml",
    "baseline/v1.36/fail/procmount1.yaml",
    "baseline/v1.37/fail/procmount0.yaml",
    "baseline/v1.37/fail/procmount1.yaml",
    "restricted/v1.35/fail/procmount0.yaml",
    "restricted/v1.35/fail/procmount1.yaml",
    "restricted/v1.36/fail/procmount0.yaml",
    "restricted/v1.36/fail/procmount1.yaml",
    "restricted/v1.37/fail/procmount0.yaml",
    "restricted/v1.37/fail/procmount1.yaml",
  ].map((file) => [file, PROC_MOUNT_NEEDS_USER_NAMESPACE]),
);

interface Fixture {
  level: PssLevel;
  version: number;
  /** The directory it is in: what upstream expects. */
  expected: "pass" | "fail";
  /** Relative to test/fixtures/pss-upstream, e.g. `baseline/v1.0/pass/base.yaml`. */
  file: string;
}

/** How one fixture fared, as a Pod or as a Deployment's pod template. */
interface Submission {
  outcome: ServerOutcome;
  findings: PssFinding[];
  /** Why this is a disagreement between the API server and belay; undefined when they agree. */
  disagreement?: string;
  /** Why the API server's verdict contradicts upstream's pass/fail directory; undefined if not. */
  againstUpstream?: string;
}

interface Result {
  fixture: Fixture;
  pod: Submission;
  deployment: Submission;
}

interface Row {
  level: PssLevel;
  version: number;
  fixtures: Fixture[];
  results: Result[];
}

function versionsOf(level: PssLevel): number[] {
  return readdirSync(path.join(UPSTREAM, level))
    .map((dir) => /^v1\.([0-9]+)$/.exec(dir)?.[1])
    .filter((minor): minor is string => minor !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Every fixture, by level and version, in a stable order. */
const rows: Row[] = LEVELS.flatMap((level) =>
  versionsOf(level).map((version) => ({
    level,
    version,
    results: [],
    fixtures: (["pass", "fail"] as const).flatMap((expected) => {
      const dir = path.join(level, `v1.${version}`, expected);
      return readdirSync(path.join(UPSTREAM, dir))
        .filter((name) => name.endsWith(".yaml"))
        .sort()
        .map((name) => ({ level, version, expected, file: path.join(dir, name) }));
    }),
  })),
);

/** The Pod run.go's createPod sends: the fixture named `test`, in service account `default`. */
function podFor(fixture: KubeObject): KubeObject {
  const pod = structuredClone(fixture) as {
    metadata?: Record<string, unknown>;
    spec?: Record<string, unknown>;
  };
  pod.metadata = { ...pod.metadata, name: "test" };
  pod.spec = { ...pod.spec, serviceAccountName: "default" };
  return pod as KubeObject;
}

/** The Deployment run.go's createController sends: the fixture as its template, labelled `test`. */
function deploymentFor(fixture: KubeObject): KubeObject {
  const { metadata = {}, spec = {} } = fixture as { metadata?: Record<string, unknown>; spec?: unknown };
  const labels = { ...(metadata.labels as Record<string, string> | undefined), test: "true" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "test" },
    spec: {
      selector: { matchLabels: { test: "true" } },
      template: { metadata: { ...metadata, labels }, spec },
    },
  };
}

const POD_SECURITY_WARNING = "would violate PodSecurity";

/** Compares a Pod create with belay; see the file comment. */
function judgePod(fixture: Fixture, outcome: ServerOutcome, findings: PssFinding[]): Submission {
  const submission: Submission = { outcome, findings };
  const policy = `"${fixture.level}:v1.${fixture.version}"`;
  const listed = EXPECTED_INVALID.get(fixture.file);
  const belay = findings.length === 0 ? "belay finds no violation" : "belay finds violations";
  if (outcome.verdict === "invalid") {
    if (listed === undefined)
      submission.disagreement = `rejected as invalid (not listed in EXPECTED_INVALID)`;
    else if (!listed.test(outcome.message))
      submission.disagreement = `rejected as invalid, not for ${listed}`;
    else if (findings.length === 0) submission.disagreement = `listed as invalid, but ${belay}`;
  } else if (listed !== undefined) {
    submission.disagreement = `listed in EXPECTED_INVALID but ${outcome.verdict}`;
  } else if ((outcome.verdict === "admitted") !== (findings.length === 0)) {
    submission.disagreement = `${outcome.verdict === "admitted" ? "admitted" : "denied by PodSecurity"}, but ${belay}`;
  } else if (outcome.verdict === "podsecurity" && !outcome.message.includes(policy)) {
    submission.disagreement = `denied under another policy than ${policy}`;
  }
  const denied = outcome.verdict !== "admitted";
  if (denied !== (fixture.expected === "fail")) {
    submission.againstUpstream = `upstream expects ${fixture.expected}, the API server ${outcome.verdict}`;
  }
  return submission;
}

/** Compares a Deployment create (PodSecurity warns, never enforces, for workloads) with belay. */
function judgeDeployment(fixture: Fixture, outcome: ServerOutcome, findings: PssFinding[]): Submission {
  const submission: Submission = { outcome, findings };
  const policy = `"${fixture.level}:v1.${fixture.version}"`;
  const listed = EXPECTED_INVALID.get(fixture.file);
  const warnings = outcome.warnings.filter((w) => w.includes(POD_SECURITY_WARNING));
  const belay = findings.length === 0 ? "belay finds no violation" : "belay finds violations";
  if (outcome.verdict === "invalid") {
    if (listed === undefined)
      submission.disagreement = `rejected as invalid (not listed in EXPECTED_INVALID)`;
    else if (!listed.test(outcome.message))
      submission.disagreement = `rejected as invalid, not for ${listed}`;
    else if (findings.length === 0) submission.disagreement = `listed as invalid, but ${belay}`;
  } else if (outcome.verdict === "podsecurity" || listed !== undefined) {
    submission.disagreement = `expected ${listed === undefined ? "a warning at most" : "Invalid"}, got ${outcome.verdict}`;
  } else if ((warnings.length === 0) !== (findings.length === 0)) {
    submission.disagreement = `${warnings.length === 0 ? "no PodSecurity warning" : "PodSecurity warnings"}, but ${belay}`;
  } else if (!warnings.every((w) => w.includes(policy))) {
    submission.disagreement = `warned under another policy than ${policy}`;
  }
  const flagged = warnings.length > 0 || outcome.verdict !== "admitted";
  if (flagged !== (fixture.expected === "fail")) {
    submission.againstUpstream = `upstream expects ${fixture.expected}, the API server ${flagged ? "flagged it" : "did not"}`;
  }
  return submission;
}

async function submit(client: RawClient, namespace: string, fixture: Fixture): Promise<Result> {
  const file = path.join(UPSTREAM, fixture.file);
  const object = parseOne(readFileSync(file, "utf8"), file).object;
  const rules = pssRulesFor(fixture.level, fixture.version);
  const pod = podFor(object);
  const podResponse = await client.send("POST", dryRunPodsPath(namespace), JSON.stringify(pod));
  const deployment = deploymentFor(object);
  const deploymentResponse = await client.send(
    "POST",
    `/apis/apps/v1/namespaces/${namespace}/deployments?dryRun=All`,
    JSON.stringify(deployment),
  );
  return {
    fixture,
    pod: judgePod(fixture, classify(podResponse), pssFindings(makeResource(pod), rules, fixture.version)),
    deployment: judgeDeployment(
      fixture,
      classify(deploymentResponse),
      pssFindings(makeResource(deployment), rules, fixture.version),
    ),
  };
}

function report(result: Result, as: "pod" | "deployment", reason: string): string {
  const { outcome, findings } = result[as];
  const server =
    outcome.verdict === "admitted"
      ? `${outcome.status} admitted${outcome.warnings.map((w) => `\n    warning: ${w}`).join("")}`
      : `${outcome.status} ${outcome.message}`;
  return [
    `${result.fixture.file} as a ${as === "pod" ? "Pod" : "Deployment"}: ${reason}`,
    `  API server: ${server}`,
    `  belay (${result.fixture.level} at v1.${result.fixture.version}):`,
    formatFindings(findings),
  ].join("\n");
}

function disagreements(results: readonly Result[]): string {
  return results
    .flatMap((result) =>
      (["pod", "deployment"] as const).flatMap((as) => {
        const reason = result[as].disagreement;
        return reason === undefined ? [] : [report(result, as, reason)];
      }),
    )
    .join("\n");
}

function table(): string {
  const header = "level       version  fixtures  admitted  denied  invalid  pods agree  deployments agree";
  const line = (label: string, results: readonly Result[]) => {
    const count = (p: (r: Result) => boolean) => results.filter(p).length;
    const agreePods = count((r) => r.pod.disagreement === undefined);
    const agreeDeployments = count((r) => r.deployment.disagreement === undefined);
    const cells = [
      label.padEnd(20),
      String(results.length).padStart(8),
      String(count((r) => r.pod.outcome.verdict === "admitted")).padStart(9),
      String(count((r) => r.pod.outcome.verdict === "podsecurity")).padStart(7),
      String(count((r) => r.pod.outcome.verdict === "invalid")).padStart(8),
      `${agreePods}/${results.length}`.padStart(11),
      `${agreeDeployments}/${results.length}`.padStart(18),
    ];
    const all = agreePods === results.length && agreeDeployments === results.length;
    return `${cells.join(" ")}${all ? "" : "  MISMATCH"}`;
  };
  return [
    header,
    ...rows.map((row) => line(`${row.level.padEnd(11)} v1.${row.version}`, row.results)),
    line(
      "total",
      rows.flatMap((row) => row.results),
    ),
  ].join("\n");
}

describeCluster("PodSecurity admission agrees with belay on every upstream fixture", () => {
  let kc: KubeConfig;
  let client: RawClient;
  const namespaces = new Map<string, string>();
  const seconds = { namespaces: 0, submissions: 0 };

  beforeAll(async () => {
    kc = await adminKubeConfig();
    client = await rawClient(kc, CONCURRENCY);
    let started = Date.now();
    await mapLimit(rows, 8, async ({ level, version }) => {
      const name = await createTestNamespace(kc, `pss-${level}-v1-${version}`, {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": `v1.${version}`,
        "pod-security.kubernetes.io/warn": level,
        "pod-security.kubernetes.io/warn-version": `v1.${version}`,
      });
      namespaces.set(`${level}/${version}`, name);
    });
    seconds.namespaces = (Date.now() - started) / 1000;
    started = Date.now();
    const work = rows.flatMap((row) => row.fixtures.map((fixture) => ({ row, fixture })));
    const results = await mapLimit(work, CONCURRENCY, ({ fixture }) =>
      submit(client, namespaces.get(`${fixture.level}/${fixture.version}`) ?? "", fixture),
    );
    results.forEach((result, index) => {
      work[index]?.row.results.push(result);
    });
    seconds.submissions = (Date.now() - started) / 1000;
  });

  afterAll(() => {
    client?.close();
  });

  it("has every level and version v1.0 to v1.37, none newer than the API server", () => {
    for (const level of LEVELS) {
      expect(rows.filter((row) => row.level === level).map((row) => row.version)).toEqual(
        Array.from({ length: 38 }, (_, i) => i),
      );
    }
    // A label newer than the server would be evaluated as `latest`; none is.
    const serverMinor = Number(/^v1\.([0-9]+)\./.exec(sharedCluster?.version ?? "")?.[1]);
    expect(Math.max(...rows.map((row) => row.version))).toBeLessThanOrEqual(serverMinor);
    expect(namespaces.size).toBe(rows.length);
  });

  for (const row of rows) {
    it(`${row.level} v1.${row.version}: ${row.fixtures.length} fixtures as Pods and as Deployments`, () => {
      expect(row.results).toHaveLength(row.fixtures.length);
      expect(disagreements(row.results)).toBe("");
    });
  }

  it("agrees on 100% of the fixtures", () => {
    const results = rows.flatMap((row) => row.results);
    console.log(
      `PodSecurity (kube-apiserver ${sharedCluster?.version}) vs belay, upstream fixtures\n${table()}\n` +
        `${rows.length} namespaces in ${seconds.namespaces.toFixed(1)}s; ${results.length * 2} dry-run ` +
        `creates (${results.length} Pods, ${results.length} Deployments) in ${seconds.submissions.toFixed(1)}s, ` +
        `${CONCURRENCY} in flight`,
    );
    expect(results).toHaveLength(rows.reduce((n, row) => n + row.fixtures.length, 0));
    expect(disagreements(results)).toBe("");
  });

  it("rejects as Invalid exactly the listed fixtures, and agrees with upstream's pass/fail otherwise", () => {
    const results = rows.flatMap((row) => row.results);
    const invalid = results.filter(
      (r) => r.pod.outcome.verdict === "invalid" || r.deployment.outcome.verdict === "invalid",
    );
    expect(invalid.map((r) => r.fixture.file).sort()).toEqual([...EXPECTED_INVALID.keys()].sort());
    const against = results.flatMap((r) =>
      (["pod", "deployment"] as const).flatMap((as) => {
        const reason = r[as].againstUpstream;
        return reason === undefined ? [] : [report(r, as, reason)];
      }),
    );
    expect(against.join("\n")).toBe("");
  });
});
