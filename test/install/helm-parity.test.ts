/**
 * The Helm chart (deploy/helm/belay) and `belay install --print` render the same objects, with
 * the real helm binary (built by scripts/build-tools.ts, cached in ~/.cache/belay/tools).
 * Ignored: certificate bytes (each rendering makes its own CA) and the managed-by label.
 * Without Go and no cached helm the suite is skipped, except under CI where it fails.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { promisify } from "node:util";
import { loadAll } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { cachedTools, ensureTools, goVersion } from "../../scripts/build-tools.ts";
import { runCli } from "../helpers.ts";
import { normalisedObjects } from "./parity-support.ts";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects from YAML; tests index them freely.
type Obj = Record<string, any>;

const run = promisify(execFile);
const CHART = new URL("../../deploy/helm/belay", import.meta.url).pathname;

const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
const skip = !inCi && cachedTools() === undefined && goVersion() === undefined;
if (skip) {
  console.log(
    "skipping test/install/helm-parity.test.ts (real helm): go is not on PATH to build it; " +
      "install Go 1.26+ (https://go.dev/dl/) to run it (under CI=true a missing go fails it)",
  );
}

describe.skipIf(skip)("the Helm chart renders what belay install prints", () => {
  let helm: string;

  beforeAll(async () => {
    helm = (await ensureTools()).helm;
  }, 900_000);

  async function template(values: string[]): Promise<string> {
    const { stdout } = await run(helm, ["template", "belay", CHART, "--include-crds", ...values]);
    return stdout;
  }

  const cases: { name: string; install: string[]; values: string[] }[] = [
    { name: "defaults", install: [], values: [] },
    {
      name: "every option changed",
      install: [
        "-n",
        "guard",
        "--replicas",
        "3",
        "--image",
        "registry.example/belay@sha256:0123",
        "--failure-policy",
        "Ignore",
        "--timeout-seconds",
        "5",
      ],
      values: [
        "--set",
        "namespace=guard,replicas=3,image=registry.example/belay@sha256:0123,failurePolicy=Ignore,timeoutSeconds=5",
      ],
    },
    {
      name: "two CPUs per webhook pod",
      install: ["--webhook-cpus", "2"],
      values: ["--set", "webhookCpus=2"],
    },
    {
      name: "without the controller",
      install: ["--without-controller"],
      values: ["--set", "controller.enabled=false"],
    },
  ];

  for (const c of cases) {
    it(`${c.name}: the same objects, field for field`, async () => {
      const printed = await runCli(["install", "--print", ...c.install]);
      expect(printed.code).toBe(0);
      const ours = normalisedObjects(printed.stdout);
      const chart = normalisedObjects(await template(c.values));
      // CRDs come from the chart's crds/ folder, which helm installs whatever the values say.
      if (c.name === "without the controller")
        for (const key of [...chart.keys()])
          if (key.startsWith("CustomResourceDefinition ")) chart.delete(key);
      expect([...chart.keys()].sort()).toEqual([...ours.keys()].sort());
      for (const [key, object] of ours) expect({ key, object: chart.get(key) }).toEqual({ key, object });
    });
  }

  it("generates one CA per render: the Secret's ca.crt is the caBundle and signed the serving certificate", async () => {
    const docs = loadAll(await template([])) as Obj[];
    const secret = docs.find((d) => d?.kind === "Secret");
    const vwc = docs.find((d) => d?.kind === "ValidatingWebhookConfiguration");
    const pem = (k: string) => Buffer.from(secret?.data[k], "base64").toString("utf8");
    for (const w of vwc?.webhooks ?? []) expect(w.clientConfig.caBundle).toBe(secret?.data["ca.crt"]);
    const leaf = new X509Certificate(pem("tls.crt"));
    expect(leaf.verify(new X509Certificate(pem("ca.crt")).publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe(
      "DNS:belay-webhook.belay-system.svc, DNS:belay-webhook.belay-system.svc.cluster.local",
    );
  });

  it("uses certificates given as values", async () => {
    const docs = loadAll(
      await template(["--set", "certs.caCert=CA,certs.tlsCert=CERT,certs.tlsKey=KEY"]),
    ) as Obj[];
    const secret = docs.find((d) => d?.kind === "Secret");
    expect(secret?.data).toEqual({
      "ca.crt": Buffer.from("CA").toString("base64"),
      "tls.crt": Buffer.from("CERT").toString("base64"),
      "tls.key": Buffer.from("KEY").toString("base64"),
    });
  });

  it("refuses the values belay install refuses, with the same reasons", async () => {
    const failure = async (values: string[]) => {
      try {
        await template(values);
        return "rendered";
      } catch (e) {
        return ((e as { stderr: string }).stderr.match(/^Error: .*$/m) ?? [""])[0];
      }
    };
    expect(await failure(["--set", "replicas=1"])).toBe(
      "Error: execution error at (belay/templates/namespace.yaml:1:4): replicas: 1 must be 2 or more; with one replica every rollout or node drain is an outage of admission",
    );
    expect(await failure(["--set", "timeoutSeconds=10"])).toBe(
      "Error: execution error at (belay/templates/namespace.yaml:1:4): timeoutSeconds: 10 must be 1 to 5; the API server waits this long on every matched request when belay is slow",
    );
    expect(await failure(["--set", "namespace=kube-system"])).toBe(
      `Error: execution error at (belay/templates/namespace.yaml:1:4): namespace: "kube-system" is not belay's own; belay labels its namespace Pod Security restricted and excludes it from its webhook, so give it one of its own (default belay-system)`,
    );
    expect(await failure(["--set", "webhookCpus=0"])).toBe(
      "Error: execution error at (belay/templates/namespace.yaml:1:4): webhookCpus: 0 must be a whole number from 1 to 16; each CPU runs one webhook worker process",
    );
    expect(await failure(["--set", "webhookCpus=1.5"])).toBe(
      "Error: execution error at (belay/templates/namespace.yaml:1:4): webhookCpus: 1.5 must be a whole number from 1 to 16; each CPU runs one webhook worker process",
    );
    expect(await failure(["--set", "failurePolicy=fail"])).toBe(
      `Error: execution error at (belay/templates/namespace.yaml:1:4): failurePolicy: "fail" must be Fail or Ignore`,
    );
  });

  it("passes belay scan --profile pss-restricted with zero findings", async () => {
    const scan = await runCli(["scan", "--profile", "pss-restricted", "-o", "json", "-"], {
      stdin: await template([]),
    });
    expect(JSON.parse(scan.stdout).findings).toEqual([]);
    expect(scan.code).toBe(0);
  });
});
