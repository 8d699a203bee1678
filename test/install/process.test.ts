/**
 * `belay install` as shipped (bin/belay.js → dist/): the CRDs are found from dist/install/
 * (deploy/crds at the package root) and the output is what the in-process run prints.
 */
import { spawnSync } from "node:child_process";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const node = `${root}node_modules/.bin/node`;

describe("bin/belay.js install", () => {
  it("prints the installation with the report CRDs read from deploy/crds", () => {
    const result = spawnSync(node, [`${root}bin/belay.js`, "install", "--print"], {
      cwd: "/",
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const kinds = (loadAll(result.stdout) as { kind: string; metadata: { name: string } }[]).map(
      (o) => `${o.kind}/${o.metadata.name}`,
    );
    expect(kinds.slice(0, 5)).toEqual([
      "CustomResourceDefinition/policyreports.wgpolicyk8s.io",
      "CustomResourceDefinition/clusterpolicyreports.wgpolicyk8s.io",
      "CustomResourceDefinition/reports.openreports.io",
      "CustomResourceDefinition/clusterreports.openreports.io",
      "Namespace/belay-system",
    ]);
    expect(kinds.at(-1)).toBe("ValidatingWebhookConfiguration/belay");
  });

  it("exits 1 on an unsafe webhook configuration from stdin", () => {
    const result = spawnSync(node, [`${root}bin/belay.js`, "install", "--check", "-"], {
      cwd: root,
      encoding: "utf8",
      env: { PATH: process.env.PATH },
      input:
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: w}\n" +
        "webhooks: [{name: a.example.com, timeoutSeconds: 3, failurePolicy: Ignore, rules: [{apiGroups: ['*'], operations: ['*'], resources: ['*']}]}]\n",
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /^<stdin>: ValidatingWebhookConfiguration "w": webhooks\[0\]\.rules\[0\]: matches leases/,
    );
  });
});
