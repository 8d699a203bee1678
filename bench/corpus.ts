/**
 * A deterministic corpus of mixed Kubernetes resources for benchmarks: every workload kind,
 * Services, Ingresses, RBAC, ConfigMaps, Secrets, NetworkPolicies — some hardened, some not.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function container(i: number, hardened: boolean): string {
  return hardened
    ? `        - name: app-${i}
          image: ghcr.io/example/app-${i % 50}:1.${i % 9}.0@sha256:${"a".repeat(64)}
          ports: [{containerPort: 8080}]
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 128Mi}
          livenessProbe: {httpGet: {path: /healthz, port: 8080}}
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}`
    : `        - name: app-${i}
          image: docker.io/example/app-${i % 50}:latest
          env:
            - {name: API_TOKEN, value: "tok-${i}-xxxxxxxxxxxxxxxx"}
            - {name: MODE, value: prod}
          securityContext:
            privileged: ${i % 3 === 0 ? "true" : "false"}
            runAsUser: 0`;
}

function podSpec(i: number, indent: string): string {
  const hardened = i % 2 === 0;
  const body = `spec:
  ${hardened ? "automountServiceAccountToken: false\n  serviceAccountName: app" : "hostNetwork: true"}
  containers:
${container(i, hardened)}
${hardened ? "" : `  volumes:\n    - name: host\n      hostPath: {path: /var/run/docker.sock}`}`;
  return body
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => indent + l)
    .join("\n");
}

function workload(kind: string, i: number, ns: string): string {
  const meta = `apiVersion: ${kind === "CronJob" || kind === "Job" ? "batch/v1" : kind === "Pod" ? "v1" : "apps/v1"}
kind: ${kind}
metadata:
  name: ${kind.toLowerCase()}-${i}
  namespace: ${ns}
  labels: {app: app-${i}}`;
  if (kind === "Pod") return `${meta}\n${podSpec(i, "")}`;
  if (kind === "CronJob") {
    return `${meta}\nspec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: app-${i}}}\n${podSpec(i, "        ")}`;
  }
  const selector = kind === "Job" ? "" : `  selector: {matchLabels: {app: app-${i}}}\n`;
  return `${meta}\nspec:\n${selector}  template:\n    metadata: {labels: {app: app-${i}}}\n${podSpec(i, "    ")}`;
}

function other(kind: string, i: number, ns: string): string {
  switch (kind) {
    case "Service":
      return `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${i}, namespace: ${ns}}\nspec:\n  type: ${i % 4 === 0 ? "LoadBalancer" : "ClusterIP"}\n  selector: {app: app-${i}}\n  ports: [{port: 80, targetPort: 8080}]`;
    case "Ingress":
      return `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ing-${i}, namespace: ${ns}}\nspec:\n  rules:\n    - host: app-${i}.example.com\n      http:\n        paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-${i}, port: {number: 80}}}}]`;
    case "Role":
      return `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-${i}, namespace: ${ns}}\nrules:\n  - apiGroups: [""]\n    resources: [${i % 5 === 0 ? '"*"' : '"configmaps"'}]\n    verbs: ["get", "list"]`;
    case "RoleBinding":
      return `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb-${i}, namespace: ${ns}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${i % 7 === 0 ? "cluster-admin" : "view"}}\nsubjects: [{kind: ServiceAccount, name: app, namespace: ${ns}}]`;
    case "ConfigMap":
      return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}, namespace: ${ns}}\ndata:\n  LOG_LEVEL: info\n  DATABASE_PASSWORD: hunter2-${i}`;
    case "Secret":
      return `apiVersion: v1\nkind: Secret\nmetadata: {name: secret-${i}, namespace: ${ns}}\ntype: Opaque\ndata:\n  password: ${Buffer.from(`pw-${i}`).toString("base64")}`;
    default:
      return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np-${i}, namespace: ${ns}}\nspec:\n  podSelector: {matchLabels: {app: app-${i}}}\n  policyTypes: [Ingress]`;
  }
}

const KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Pod",
  "Service",
  "Ingress",
  "Role",
  "RoleBinding",
  "ConfigMap",
  "Secret",
  "NetworkPolicy",
];
const WORKLOADS = new Set(KINDS.slice(0, 7));

/** Write `count` resources into `dir` as files of 100 documents; returns the number of files. */
export function writeCorpus(dir: string, count: number): number {
  mkdirSync(dir, { recursive: true });
  let files = 0;
  for (let start = 0; start < count; start += 100) {
    const docs: string[] = [];
    for (let i = start; i < Math.min(count, start + 100); i++) {
      const kind = KINDS[i % KINDS.length] as string;
      const ns = `team-${i % 50}`;
      docs.push(WORKLOADS.has(kind) ? workload(kind, i, ns) : other(kind, i, ns));
    }
    writeFileSync(join(dir, `corpus-${String(files).padStart(4, "0")}.yaml`), `${docs.join("\n---\n")}\n`);
    files++;
  }
  return files;
}
