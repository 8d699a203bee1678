/**
 * The webhook benchmark's end-to-end part: pod-create latency (server-side dry run, so every
 * admission step runs and nothing is stored) through a real kube-apiserver started for the
 * benchmark (test/cluster/harness.ts), in four namespaces that differ only in what admits
 * their pods:
 *
 * - `none`: no belay policy (the API server's built-in admission only);
 * - `webhook-restricted`: `belay webhook --profile pss-restricted`, registered by URL;
 * - `vap-restricted`: the equivalent native ValidatingAdmissionPolicies, from
 *   `belay export vap --from-profile pss-restricted`, bound to that namespace;
 * - `webhook-all`: `belay webhook --profile all --policy policies/`, the full configuration.
 *
 * Each run sends BENCH_E2E_N creates one after another, then BENCH_E2E_N with
 * BENCH_E2E_CONCURRENCY in flight, per namespace, in a rotating order.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { startCluster } from "../test/cluster/harness.ts";
import { type RawClient, rawClient } from "../test/cluster/pss-support.ts";
import { median, summary } from "./lib/stats.ts";
import { launcherNodeFlags, startWebhookProcess, type WebhookProcess } from "./lib/webhook-process.ts";

const N = Number(process.env.BENCH_E2E_N ?? 500);
const CONCURRENCY = Number(process.env.BENCH_E2E_CONCURRENCY ?? 8);
const root = new URL("..", import.meta.url).pathname;
const LABEL = "belay.dev/bench";

/** Options of {@link runApiServerBench}. */
export interface ApiServerBenchOptions {
  /** A scratch directory (decision logs). */
  dir: string;
  tls: { certFile: string; keyFile: string; certPem: string };
  runs: number;
  /** Webhook processes started here are added, so the caller stops them even on failure. */
  started: WebhookProcess[];
}

const SCENARIOS = [
  { name: "none", description: "no belay policy (built-in admission only)" },
  { name: "webhook-restricted", description: "belay webhook --profile pss-restricted, by URL" },
  {
    name: "vap-restricted",
    description: "native ValidatingAdmissionPolicies from belay export vap --from-profile pss-restricted",
  },
  {
    name: "webhook-all",
    description: "belay webhook --profile all --policy policies/",
  },
] as const;

/** A pod that every built-in rule and catalog policy admits (it may still get warnings). */
function pod(name: string, privileged = false): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { app: "bench", "app.kubernetes.io/name": "bench", team: "platform" },
    },
    spec: {
      serviceAccountName: "app",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "app",
          image: `registry.example.com/shop/app:1.4.2@sha256:${"3f".repeat(32)}`,
          ports: [{ containerPort: 8080 }],
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
          livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
          readinessProbe: { httpGet: { path: "/readyz", port: 8080 } },
          securityContext: {
            privileged,
            allowPrivilegeEscalation: privileged,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

/** Run the end-to-end part; returns its results section. Stops everything it started. */
export async function runApiServerBench(options: ApiServerBenchOptions) {
  const cluster = await startCluster({
    // Pods are never scheduled and no namespace is deleted: the control plane alone suffices.
    controllerManager: false,
    log: (line) => console.log(`cluster: ${line}`),
  });
  let client: RawClient | undefined;
  try {
    client = await rawClient(cluster.kubeConfig, CONCURRENCY * 2);
    const c = client;
    const must = async (method: string, path: string, body: unknown, ok = [200, 201]) => {
      const res = await c.send(method, path, JSON.stringify(body));
      if (!ok.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
      return res;
    };
    for (const { name } of SCENARIOS) {
      await must("POST", "/api/v1/namespaces", {
        metadata: { name: `bench-${name}`, labels: { [LABEL]: name } },
      });
      await must("POST", `/api/v1/namespaces/bench-${name}/serviceaccounts`, {
        metadata: { name: "app" },
        automountServiceAccountToken: false,
      });
    }

    const tlsArgs = ["--tls-cert", options.tls.certFile, "--tls-key", options.tls.keyFile];
    const webhooks: Record<string, string[]> = {
      "webhook-restricted": ["--profile", "pss-restricted"],
      "webhook-all": ["--profile", "all", "--policy", join(root, "policies")],
    };
    const loaded: Record<string, { rules: number; policies: number }> = {};
    for (const [scenario, args] of Object.entries(webhooks)) {
      const webhook = await startWebhookProcess(options.dir, `apiserver-${scenario}`, [...tlsArgs, ...args]);
      options.started.push(webhook);
      loaded[scenario] = webhook.listening;
      await must("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
        metadata: { name: `belay-bench-${scenario}` },
        webhooks: [
          {
            name: "validate.belay.dev",
            clientConfig: {
              url: `https://127.0.0.1:${webhook.port}/validate`,
              caBundle: Buffer.from(options.tls.certPem).toString("base64"),
            },
            rules: [
              {
                apiGroups: [""],
                apiVersions: ["v1"],
                operations: ["CREATE", "UPDATE"],
                resources: ["pods"],
                scope: "Namespaced",
              },
            ],
            namespaceSelector: { matchLabels: { [LABEL]: scenario } },
            failurePolicy: "Fail",
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            timeoutSeconds: 5,
          },
        ],
      });
    }

    // The native policies, exactly as `belay export vap` writes them, bound to one namespace.
    const exported = execFileSync(
      process.execPath,
      [
        ...launcherNodeFlags(),
        join(root, "bin/belay.js"),
        "export",
        "vap",
        "--from-profile",
        "pss-restricted",
      ],
      { cwd: root, encoding: "utf8" },
    );
    const objects = parseAllDocuments(exported).map(
      (d) => d.toJSON() as { kind: string; metadata: { namespace?: string }; spec: Record<string, unknown> },
    );
    let vapCount = 0;
    for (const object of objects) {
      if (object.kind === "Namespace") await must("POST", "/api/v1/namespaces", object, [201, 409]);
      else if (object.kind === "ConfigMap")
        await must("POST", `/api/v1/namespaces/${object.metadata.namespace}/configmaps`, object);
      else if (object.kind === "ValidatingAdmissionPolicy") {
        vapCount++;
        await must("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", object);
      } else if (object.kind === "ValidatingAdmissionPolicyBinding") {
        object.spec.matchResources = { namespaceSelector: { matchLabels: { [LABEL]: "vap-restricted" } } };
        await must("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", object);
      } else throw new Error(`belay export vap wrote an unexpected ${object.kind}`);
    }

    const create = (scenario: string, body: Record<string, unknown>) =>
      c.send("POST", `/api/v1/namespaces/bench-${scenario}/pods?dryRun=All`, JSON.stringify(body));
    // Configurations take effect once the API server's informers have seen them (the policies'
    // params too): wait until a privileged pod is denied and the benchmark's pod admitted.
    for (const { name } of SCENARIOS) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        // A denial: 403 from belay's rules; from native policies the first failing validation's
        // reason decides (403 Forbidden, or 422 Invalid for one that names none), and the API
        // server does not promise an order among policies.
        const bad = name === "none" ? 403 : (await create(name, pod("sentinel", true))).status;
        const good = await create(name, pod("good"));
        if ((bad === 403 || bad === 422) && good.status === 201) break;
        if (Date.now() > deadline)
          throw new Error(
            `${name}: after 60 s a privileged pod gets ${bad} (want 403 or 422) and the benchmark pod ${good.status} (want 201): ${good.body}`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    const raw: Record<string, unknown>[] = [];
    for (let run = 0; run < options.runs; run++) {
      const order = SCENARIOS.map(
        (_, i) => SCENARIOS[(i + run) % SCENARIOS.length] as (typeof SCENARIOS)[number],
      );
      for (const { name } of order) {
        for (let i = 0; i < 20; i++) await create(name, pod(`warm-${i}`));
        let errors = 0;
        const sequential: number[] = [];
        for (let i = 0; i < N; i++) {
          const t = performance.now();
          const res = await create(name, pod(`seq-${i}`));
          sequential.push(performance.now() - t);
          if (res.status !== 201) errors++;
        }
        const concurrent: number[] = [];
        let next = 0;
        const start = performance.now();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < N) {
              const i = next++;
              const t = performance.now();
              const res = await create(name, pod(`par-${i}`));
              concurrent.push(performance.now() - t);
              if (res.status !== 201) errors++;
            }
          }),
        );
        const seconds = (performance.now() - start) / 1000;
        const phase = {
          run: run + 1,
          scenario: name,
          sequential: summary(sequential),
          concurrent: { ...summary(concurrent), ratePerS: Math.round(N / seconds) },
          errors,
        };
        raw.push(phase);
        console.log(
          `apiserver run ${run + 1} ${name}: sequential p50 ${phase.sequential.p50} p99 ${phase.sequential.p99} ms; ${CONCURRENCY} in flight p50 ${phase.concurrent.p50} p99 ${phase.concurrent.p99} ms (${phase.concurrent.ratePerS}/s); ${errors} errors`,
        );
      }
    }
    return {
      kubernetes: cluster.version,
      requests: N,
      concurrency: CONCURRENCY,
      runs: options.runs,
      dryRun: true,
      vapPolicies: vapCount,
      webhooks: loaded,
      scenarios: SCENARIOS.map(({ name, description }) => {
        const phases = raw.filter((p) => p.scenario === name) as {
          sequential: { p50: number; p99: number };
          concurrent: { p50: number; p99: number; ratePerS: number };
          errors: number;
        }[];
        return {
          name,
          description,
          sequentialP50Ms: median(phases.map((p) => p.sequential.p50)),
          sequentialP99Ms: median(phases.map((p) => p.sequential.p99)),
          concurrentP50Ms: median(phases.map((p) => p.concurrent.p50)),
          concurrentP99Ms: median(phases.map((p) => p.concurrent.p99)),
          concurrentRatePerS: median(phases.map((p) => p.concurrent.ratePerS)),
          errors: phases.reduce((n, p) => n + p.errors, 0),
        };
      }),
      raw,
    };
  } finally {
    client?.close();
    await cluster.stop();
  }
}
