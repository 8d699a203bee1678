/**
 * A deterministic mix of realistic AdmissionReview requests, as kube-apiserver sends them to a
 * validating webhook: Pods, Deployments, StatefulSets, Services and ConfigMaps in ten team
 * namespaces, half compliant with every built-in rule and catalog policy and half not (each
 * non-compliant object breaks a different thing; "compliant" objects pass every denying rule
 * but may be warned about), 70 % CREATE and 30 % UPDATE (with the old object, as stored:
 * uid, resourceVersion, managedFields).
 */

/** One pre-generated request. */
export interface BenchReview {
  /** The AdmissionReview JSON, as sent. */
  body: string;
  uid: string;
  kind: string;
  operation: "CREATE" | "UPDATE";
  /** Whether the object was generated to pass every rule and policy (the webhook may still warn). */
  compliant: boolean;
}

const KINDS = [
  // weight: how many of every 20 requests are of this kind
  { kind: "Pod", weight: 6 },
  { kind: "Deployment", weight: 5 },
  { kind: "StatefulSet", weight: 2 },
  { kind: "Service", weight: 3 },
  { kind: "ConfigMap", weight: 4 },
] as const;
type Kind = (typeof KINDS)[number]["kind"];

const RESOURCE: Record<Kind, { group: string; version: string; resource: string }> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  Service: { group: "", version: "v1", resource: "services" },
  ConfigMap: { group: "", version: "v1", resource: "configmaps" },
};

const DIGEST = `sha256:${"3f".repeat(32)}`;

/** The non-compliant variants, cycled: each breaks rules in a different way. */
const BREAKS = [
  "privileged",
  "latest-tag",
  "host-network",
  "run-as-root",
  "no-resources",
  "host-path",
  "added-capabilities",
  "foreign-registry",
] as const;
type Break = (typeof BREAKS)[number];

function labels(i: number): Record<string, string> {
  return {
    app: `svc-${i % 40}`,
    "app.kubernetes.io/name": `svc-${i % 40}`,
    "app.kubernetes.io/part-of": "shop",
    team: `team-${i % 10}`,
  };
}

function container(i: number, n: number, broken: Break | undefined): Record<string, unknown> {
  const image =
    broken === "latest-tag"
      ? `registry.example.com/shop/svc-${i % 40}:latest`
      : broken === "foreign-registry"
        ? `docker.io/library/nginx:1.27.${i % 5}`
        : `registry.example.com/shop/svc-${i % 40}:1.${i % 17}.${n}@${DIGEST}`;
  const securityContext: Record<string, unknown> = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 10001,
    capabilities: { drop: ["ALL"] },
  };
  if (broken === "privileged")
    Object.assign(securityContext, { privileged: true, allowPrivilegeEscalation: true });
  if (broken === "run-as-root") Object.assign(securityContext, { runAsNonRoot: false, runAsUser: 0 });
  if (broken === "added-capabilities") securityContext.capabilities = { add: ["NET_ADMIN", "SYS_TIME"] };
  return {
    name: n === 0 ? "app" : `sidecar-${n}`,
    image,
    imagePullPolicy: "IfNotPresent",
    ports: [{ name: "http", containerPort: 8080 + n, protocol: "TCP" }],
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "REGION", value: "eu-west-1" },
      { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
      // A Secret in an env var is common and only warned about (secret-env-var): a third have one.
      ...(i % 3 === 0
        ? [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: `db-${i % 40}`, key: "password" } } }]
        : []),
    ],
    ...(broken === "no-resources"
      ? {}
      : {
          resources: {
            requests: { cpu: "100m", memory: "128Mi" },
            limits: { cpu: "500m", memory: "256Mi" },
          },
        }),
    livenessProbe: { httpGet: { path: "/healthz", port: 8080 + n, scheme: "HTTP" }, periodSeconds: 10 },
    readinessProbe: { httpGet: { path: "/readyz", port: 8080 + n, scheme: "HTTP" }, periodSeconds: 5 },
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    securityContext,
  };
}

function podSpec(i: number, broken: Break | undefined): Record<string, unknown> {
  const containers = Array.from({ length: 1 + (i % 3 === 0 ? 1 : 0) }, (_, n) => container(i, n, broken));
  const volumes: Record<string, unknown>[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }];
  if (broken === "host-path") volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } });
  return {
    serviceAccountName: `svc-${i % 40}`,
    automountServiceAccountToken: false,
    ...(broken === "host-network" ? { hostNetwork: true, hostPID: true } : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers,
    volumes,
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    schedulerName: "default-scheduler",
    enableServiceLinks: false,
  };
}

function metadata(kind: Kind, i: number, namespace: string, stored: boolean): Record<string, unknown> {
  const name = `${kind.toLowerCase()}-${i}`;
  return {
    name,
    namespace,
    labels: labels(i),
    annotations: { "shop.example.com/owner": `team-${i % 10}@example.com` },
    ...(stored
      ? {
          uid: `0d6f${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
          resourceVersion: String(100_000 + i),
          generation: 3,
          creationTimestamp: "2026-11-20T09:00:00Z",
          managedFields: [
            {
              manager: "kubectl-client-side-apply",
              operation: "Update",
              apiVersion: RESOURCE[kind].group === "" ? "v1" : `${RESOURCE[kind].group}/v1`,
              time: "2026-11-20T09:00:00Z",
              fieldsType: "FieldsV1",
              fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:app": {}, "f:team": {} } } },
            },
          ],
        }
      : {}),
  };
}

function object(kind: Kind, i: number, namespace: string, broken: Break | undefined, stored: boolean) {
  const meta = metadata(kind, i, namespace, stored);
  const apiVersion = RESOURCE[kind].group === "" ? "v1" : `${RESOURCE[kind].group}/v1`;
  const template = { metadata: { labels: labels(i) }, spec: podSpec(i, broken) };
  switch (kind) {
    case "Pod":
      return { apiVersion, kind, metadata: meta, spec: podSpec(i, broken) };
    case "Deployment":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          replicas: 2 + (i % 3),
          selector: { matchLabels: { app: `svc-${i % 40}` } },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
          template,
        },
      };
    case "StatefulSet":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          replicas: 3,
          serviceName: `svc-${i % 40}`,
          selector: { matchLabels: { app: `svc-${i % 40}` } },
          template,
          volumeClaimTemplates: [
            {
              metadata: { name: "data" },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: "standard",
                resources: { requests: { storage: "10Gi" } },
              },
            },
          ],
        },
      };
    case "Service":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          type: broken === undefined ? "ClusterIP" : i % 2 === 0 ? "LoadBalancer" : "NodePort",
          selector: { app: `svc-${i % 40}` },
          ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
          ...(broken !== undefined && i % 4 === 1 ? { externalIPs: ["203.0.113.10"] } : {}),
        },
      };
    case "ConfigMap":
      return {
        apiVersion,
        kind,
        metadata: meta,
        data: {
          LOG_LEVEL: "info",
          FEATURES: "checkout,search,recommendations",
          "application.yaml": `server:\n  port: 8080\ncache:\n  ttl: 300\n`,
          ...(broken !== undefined ? { DATABASE_PASSWORD: `hunter2-${i}-Zq8xW3vLk9` } : {}),
        },
      };
  }
}

/** The kind of request `i` in the cycle of 20. */
function kindAt(i: number): Kind {
  let slot = i % 20;
  for (const { kind, weight } of KINDS) {
    if (slot < weight) return kind;
    slot -= weight;
  }
  return "Pod";
}

/**
 * `count` AdmissionReviews, the same for the same count. UPDATEs of a non-compliant object
 * alternate between an old object that was compliant (a new violation: denied) and one that
 * was already broken (belay's ratchet: warned, not denied).
 */
export function generateReviews(count: number): BenchReview[] {
  const reviews: BenchReview[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kindAt(i);
    const cycle = Math.floor(i / 20);
    const namespace = `team-${i % 10}`;
    // Alternate per cycle so that every kind gets both, in both operations.
    const compliant = (i + cycle) % 2 === 0;
    const broken = compliant ? undefined : BREAKS[Math.floor(i / 2) % BREAKS.length];
    const operation = ((i % 20) + cycle) % 10 < 7 ? "CREATE" : "UPDATE";
    const uid = `b3a7${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`;
    const newObject = object(kind, i, namespace, broken, operation === "UPDATE");
    let oldObject: Record<string, unknown> | null = null;
    if (operation === "UPDATE") {
      const oldBroken = broken !== undefined && Math.floor(cycle / 2) % 2 === 1 ? broken : undefined;
      oldObject = object(kind, i, namespace, oldBroken, true);
      (oldObject.metadata as Record<string, unknown>).resourceVersion = String(99_000 + i);
      ((oldObject.metadata as Record<string, unknown>).labels as Record<string, string>).version = "previous";
    }
    const name = (newObject.metadata as { name: string }).name;
    const gvk = { group: RESOURCE[kind].group, version: "v1", kind };
    const review = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid,
        kind: gvk,
        resource: RESOURCE[kind],
        requestKind: gvk,
        requestResource: RESOURCE[kind],
        name,
        namespace,
        operation,
        userInfo: {
          username:
            i % 3 === 0
              ? "system:serviceaccount:argocd:argocd-application-controller"
              : `dev-${i % 25}@example.com`,
          uid: `u-${i % 25}`,
          groups:
            i % 3 === 0
              ? ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"]
              : ["developers", `team-${i % 10}`, "system:authenticated"],
        },
        object: newObject,
        oldObject,
        dryRun: false,
        options: {
          apiVersion: "meta.k8s.io/v1",
          kind: operation === "CREATE" ? "CreateOptions" : "UpdateOptions",
          fieldManager: "kubectl-client-side-apply",
          fieldValidation: "Strict",
        },
      },
    };
    reviews.push({ body: JSON.stringify(review), uid, kind, operation, compliant });
  }
  return reviews;
}
