/**
 * `belay audit` at scale on the real API server: 50 namespaces of 101 objects each (5,050
 * objects, plus what the controllers add) seeded with a known set of violations
 * (audit-seed.ts). The audit finds exactly that set; `--write-reports` writes a
 * PolicyReport per namespace, and a second run writes nothing.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { runAudit } from "../audit/run-audit.ts";
import {
  createAll,
  expectedFindings,
  installReportCrds,
  OBJECTS_PER_NAMESPACE,
  SEED_RULES,
  seedClusterRoles,
  seedNamespace,
  seedRange,
} from "./audit-seed.ts";
import { randomSuffix } from "./harness.ts";
import { mapLimit, type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, describeCluster, sharedCluster } from "./shared.ts";

const NAMESPACES = 50;
const CLUSTER_ROLES = 10;
const prefix = `scale-${randomSuffix()}`;
let client: RawClient;

interface JsonFinding {
  ruleId: string;
  status: string;
  resource: { kind: string; namespace?: string; name: string };
}

const ours = (f: JsonFinding) => (f.resource.namespace ?? f.resource.name).startsWith(`${prefix}-`);
const key = (f: JsonFinding) =>
  `${f.ruleId} ${f.resource.kind} ${f.resource.namespace ?? ""}/${f.resource.name}`;

describeCluster("belay audit at scale", () => {
  beforeAll(async () => {
    client = await rawClient(await adminKubeConfig(), 16);
    await installReportCrds(client);
    const started = Date.now();
    const count = await seedRange(client, prefix, 0, NAMESPACES, 16);
    await createAll(client, seedClusterRoles(prefix, CLUSTER_ROLES));
    expect(count).toBe(NAMESPACES * OBJECTS_PER_NAMESPACE);
    process.stderr.write(
      `[audit-scale] seeded ${count + CLUSTER_ROLES} objects in ${Date.now() - started} ms\n`,
    );
  });

  afterAll(async () => {
    if (!client) return;
    // The cluster is discarded after the run; deleting 50 namespaces would only add load.
    await mapLimit(seedClusterRoles(prefix, CLUSTER_ROLES), 4, (o) =>
      client.send("DELETE", `${o.path}/${(o.body.metadata as { name: string }).name}`),
    );
    client.close();
  });

  const env = () => ({ PATH: process.env.PATH, KUBECONFIG: sharedCluster?.kubeconfigPath });

  it("finds exactly the seeded violations, writes a report per namespace, then writes nothing", async () => {
    const rules = SEED_RULES.join(",");
    let started = Date.now();
    const first = await runAudit(["--rules", rules, "--write-reports", "-o", "json"], env());
    process.stderr.write(`[audit-scale] first audit (with reports) in ${Date.now() - started} ms\n`);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).not.toMatch(/cannot|failed:/);
    const report = JSON.parse(first.stdout) as { findings: JsonFinding[]; summary: { resources: number } };
    const got = [...new Set(report.findings.filter(ours).map(key))].sort();
    expect(got).toEqual(expectedFindings(prefix, NAMESPACES, CLUSTER_ROLES));
    expect(report.findings.filter(ours).every((f) => f.status === "fail")).toBe(true);
    // Every seeded object was evaluated (plus the rest of the cluster and what controllers add).
    expect(report.summary.resources).toBeGreaterThanOrEqual(
      NAMESPACES * OBJECTS_PER_NAMESPACE + CLUSTER_ROLES,
    );

    const reports = async () => {
      const res = await client.send("GET", "/apis/wgpolicyk8s.io/v1alpha2/policyreports");
      expect(res.status, res.body).toBe(200);
      return (
        JSON.parse(res.body) as {
          items: {
            metadata: { namespace: string; resourceVersion: string };
            results?: { policy: string; result: string; resources: { kind: string; name: string }[] }[];
          }[];
        }
      ).items.filter((r) => r.metadata.namespace.startsWith(`${prefix}-`));
    };
    const written = await reports();
    expect(written.map((r) => r.metadata.namespace).sort()).toEqual(
      Array.from({ length: NAMESPACES }, (_, n) => seedNamespace(prefix, n)),
    );
    const failed = written
      .flatMap((r) =>
        (r.results ?? [])
          .filter((x) => x.result === "fail")
          .map((x) => {
            const res = x.resources[0];
            const ns = res?.kind === "Namespace" ? "" : r.metadata.namespace;
            return `${x.policy} ${res?.kind} ${ns}/${res?.name}`;
          }),
      )
      .filter((line, i, all) => all.indexOf(line) === i)
      .sort();
    expect(failed).toEqual(
      expectedFindings(prefix, NAMESPACES, CLUSTER_ROLES).filter((line) => !line.includes(" ClusterRole ")),
    );

    started = Date.now();
    const second = await runAudit(["--rules", rules, "--write-reports", "-o", "json"], env());
    process.stderr.write(`[audit-scale] second audit in ${Date.now() - started} ms\n`);
    expect(second.stderr).toMatch(/reports: 0 created, 0 updated, \d+ unchanged, 0 failed/);
    const after = await reports();
    expect(after.map((r) => `${r.metadata.namespace} ${r.metadata.resourceVersion}`).sort()).toEqual(
      written.map((r) => `${r.metadata.namespace} ${r.metadata.resourceVersion}`).sort(),
    );
  });
});
