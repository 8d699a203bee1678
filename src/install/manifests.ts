/**
 * The objects `belay install` creates, as plain Kubernetes JSON: one function from options and
 * certificates to an ordered list (CRDs and the Namespace first, the webhook registration
 * last, so nothing is registered before what serves it exists). The Helm chart in
 * deploy/helm/belay renders the same objects; test/install/helm-parity.test.ts keeps the two
 * equal. No I/O here: the CRDs and certificates are passed in.
 */
import { createHash } from "node:crypto";
import {
  CLUSTER_KINDS,
  type KindSpec,
  NAMESPACE_KIND,
  NAMESPACED_KINDS,
  POLICY_KINDS,
} from "../kube/list.ts";
import type { KubeObject } from "../resources/types.ts";
import type { WebhookCerts } from "./pki.ts";

/** Everything the generated objects depend on (validated by the CLI). */
export interface InstallOptions {
  namespace: string;
  /** Webhook replicas, 2 or more. */
  replicas: number;
  /**
   * CPUs per webhook pod, 1…{@link MAX_WEBHOOK_CPUS}: its CPU limit, and as many worker
   * processes (`--workers`) with 512Mi of memory limit each.
   */
  webhookCpus: number;
  image: string;
  failurePolicy: "Fail" | "Ignore";
  /** 1..5 */
  timeoutSeconds: number;
  /** Install `belay controller` (audit, PolicyReports) and the report CRDs. */
  controller: boolean;
  /** belay's version, for the `app.kubernetes.io/version` label. */
  version: string;
}

/** Most CPUs (and workers) per webhook pod `belay install` sets. */
export const MAX_WEBHOOK_CPUS = 16;

/** Fixed object names. */
export const NAMES = {
  webhook: "belay-webhook",
  controller: "belay-controller",
  config: "belay-webhook-config",
  tls: "belay-webhook-tls",
  webhookConfiguration: "belay",
  defaultDeny: "belay-default-deny",
  lease: "belay-controller",
} as const;

/** Webhook names inside the ValidatingWebhookConfiguration. */
export const WEBHOOK_NAMES = { validate: "validate.belay.dev", log: "log.belay.dev" } as const;

/** Namespaces belay must never be installed into: they belong to the control plane or to everyone. */
export const RESERVED_NAMESPACES: readonly string[] = [
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "default",
];

/** The default image for a version. */
export function defaultImage(version: string): string {
  return `ghcr.io/belay-dev/belay:${version}`;
}

/**
 * The user id belay's containers run as: high (above 10000, so it maps to no user of the
 * node) and the conventional "nonroot" of distroless images.
 */
const RUN_AS = 65532;

/** The webhook's config file (format read by `belay webhook --config`). */
export function webhookConfigYaml(options: Pick<InstallOptions, "namespace" | "failurePolicy">): string {
  // Written by hand, not by a YAML library: the Helm chart renders this exact text and the
  // Deployment carries its checksum, so both must produce the same bytes.
  return [
    "apiVersion: belay.dev/v1alpha1",
    "kind: WebhookConfig",
    "profiles: [all]",
    "pssVersion: latest",
    "policies: []",
    "clusterPolicies: true",
    `exemptNamespaces: [kube-system, ${options.namespace}]`,
    `failureMode: ${options.failurePolicy === "Fail" ? "deny" : "allow"}`,
    "",
  ].join("\n");
}

function labels(options: InstallOptions, component?: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "belay",
    ...(component !== undefined ? { "app.kubernetes.io/component": component } : {}),
    "app.kubernetes.io/part-of": "belay",
    "app.kubernetes.io/version": options.version,
    "app.kubernetes.io/managed-by": "belay",
  };
}

function selector(component: string): Record<string, string> {
  return { "app.kubernetes.io/name": "belay", "app.kubernetes.io/component": component };
}

function meta(name: string, options: InstallOptions, component?: string, namespaced = true): KubeObject {
  return {
    name,
    ...(namespaced ? { namespace: options.namespace } : {}),
    labels: labels(options, component),
  };
}

/** The kinds the built-in rules evaluate, by API group: what the webhook is sent on CREATE/UPDATE. */
export const WEBHOOK_RESOURCES: readonly { group: string; resources: readonly string[] }[] = [
  {
    group: "",
    resources: [
      "configmaps",
      "namespaces",
      "pods",
      "pods/ephemeralcontainers",
      "replicationcontrollers",
      "secrets",
      "serviceaccounts",
      "services",
    ],
  },
  { group: "apps", resources: ["daemonsets", "deployments", "replicasets", "statefulsets"] },
  { group: "batch", resources: ["cronjobs", "jobs"] },
  { group: "networking.k8s.io", resources: ["ingresses"] },
  {
    group: "rbac.authorization.k8s.io",
    resources: ["clusterrolebindings", "clusterroles", "rolebindings", "roles"],
  },
];

/**
 * CEL match conditions of the enforcing webhook. The API server evaluates them before calling
 * belay, so skipped requests cost no round trip and cannot fail on belay's outage.
 */
export const MATCH_CONDITIONS: readonly { name: string; expression: string }[] = [
  {
    // Not in the rules either; kept so that widening the rules later cannot pull them in.
    name: "skip-high-churn-kinds",
    expression:
      "!(request.resource.group in ['coordination.k8s.io', 'events.k8s.io', 'discovery.k8s.io'] || " +
      "(request.resource.group == '' && request.resource.resource in ['events', 'endpoints']))",
  },
  {
    // Kubelets update pods and their status constantly; NodeRestriction already limits them to
    // their own node's pods, and no UPDATE they may make can add a violation belay checks.
    name: "skip-kubelet-updates",
    expression: "!(request.userInfo.username.startsWith('system:node:') && request.operation == 'UPDATE')",
  },
  {
    // belay's own ClusterRoles and bindings are cluster-scoped, so the namespaceSelector cannot
    // exempt them: without this, re-applying belay while it is down (the way to repair it)
    // would be refused. Writing cluster RBAC under these names needs cluster-admin-like power
    // anyway, and belay install owns them.
    name: "skip-belay-own-rbac",
    expression:
      "!(request.resource.group == 'rbac.authorization.k8s.io' && " +
      "request.resource.resource in ['clusterroles', 'clusterrolebindings'] && " +
      "request.name in ['belay-webhook', 'belay-controller'])",
  },
  {
    // The only Secret rule looks at long-lived service account tokens; Helm release Secrets
    // and the like churn and need no round trip.
    name: "secrets-only-service-account-tokens",
    expression:
      "request.resource.resource != 'secrets' || " +
      "(has(object.type) && object.type == 'kubernetes.io/service-account-token')",
  },
];

/** Rules for `operations`; for DELETE (`forDelete`) without Secrets and subresources. */
function webhookRules(operations: readonly string[], forDelete: boolean): KubeObject[] {
  return WEBHOOK_RESOURCES.map(({ group, resources }) => ({
    apiGroups: [group],
    apiVersions: ["*"],
    operations: [...operations],
    resources: resources.filter((r) => !forDelete || (r !== "secrets" && !r.includes("/"))),
    scope: "*",
  }));
}

function clusterRoleRulesFor(kinds: readonly KindSpec[], verbs: readonly string[]): KubeObject[] {
  const byGroup = new Map<string, Set<string>>();
  for (const kind of kinds) {
    const set = byGroup.get(kind.group) ?? new Set<string>();
    set.add(kind.resource);
    byGroup.set(kind.group, set);
  }
  return [...byGroup.keys()].sort().map((group) => ({
    apiGroups: [group],
    resources: [...(byGroup.get(group) ?? [])].sort(),
    verbs: [...verbs],
  }));
}

const READ = ["get", "list", "watch"] as const;

function container(
  name: string,
  options: InstallOptions,
  args: string[],
  port: { name: string; containerPort: number; scheme: "HTTP" | "HTTPS" },
  resources: KubeObject,
  volumeMounts: KubeObject[],
): KubeObject {
  const probe = (path: string, periodSeconds: number, failureThreshold: number): KubeObject => ({
    httpGet: { path, port: port.name, scheme: port.scheme },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold,
  });
  return {
    name,
    image: options.image,
    imagePullPolicy: "IfNotPresent",
    args,
    ports: [{ name: port.name, containerPort: port.containerPort, protocol: "TCP" }],
    livenessProbe: probe("/healthz", 10, 3),
    readinessProbe: probe("/readyz", 5, 2),
    resources,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: RUN_AS,
      runAsGroup: RUN_AS,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts,
  };
}

function podSecurity(): KubeObject {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    fsGroup: RUN_AS,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

function spread(component: string): { affinity: KubeObject; topologySpreadConstraints: KubeObject[] } {
  // Preferred, not required: a one-node cluster must still run both replicas.
  return {
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: "kubernetes.io/hostname",
              labelSelector: { matchLabels: selector(component) },
            },
          },
        ],
      },
    },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selector(component) },
      },
    ],
  };
}

function networkPolicy(
  name: string,
  options: InstallOptions,
  component: string,
  ingressPort: number,
): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(name, options, component),
    spec: {
      podSelector: { matchLabels: selector(component) },
      policyTypes: ["Ingress", "Egress"],
      // From anywhere: the API server calls from an address no selector can name (often the
      // host network), and Prometheus scrapes the same port.
      ingress: [{ ports: [{ protocol: "TCP", port: ingressPort }] }],
      // The API server, at the kubernetes Service (443) or its endpoints (6443) depending on
      // whether the network plugin sees traffic before or after the Service's DNAT.
      egress: [
        {
          ports: [
            { protocol: "TCP", port: 443 },
            { protocol: "TCP", port: 6443 },
          ],
        },
      ],
    },
  };
}

/**
 * Every object of the installation, in apply order. `crds` are the report CRDs (included with
 * the controller). Never throws for options the CLI validated.
 */
export function installObjects(
  options: InstallOptions,
  certs: WebhookCerts,
  crds: readonly KubeObject[],
): KubeObject[] {
  const ns = options.namespace;
  const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
  const config = webhookConfigYaml(options);
  const objects: KubeObject[] = [];
  if (options.controller) objects.push(...crds);

  objects.push({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: ns,
      labels: {
        ...labels(options),
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
      },
    },
  });

  const components = options.controller ? (["webhook", "controller"] as const) : (["webhook"] as const);
  for (const component of components) {
    objects.push({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta(component === "webhook" ? NAMES.webhook : NAMES.controller, options, component),
      // Mounted per pod instead (the pods set automountServiceAccountToken explicitly).
      automountServiceAccountToken: false,
    });
  }

  objects.push({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: meta(NAMES.webhook, options, "webhook", false),
    rules: [
      // The cluster's ValidatingAdmissionPolicies and bindings (clusterPolicies: true), and the
      // objects they commonly read: ConfigMap params and the request's namespace.
      ...clusterRoleRulesFor(POLICY_KINDS, READ),
      { apiGroups: [""], resources: ["configmaps", "namespaces"], verbs: [...READ] },
      // The `authorizer` CEL variable asks the API server.
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ],
  });
  if (options.controller) {
    objects.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(NAMES.controller, options, "controller", false),
      rules: [
        // What the audit lists and watches (src/kube/list.ts), never Secrets.
        ...clusterRoleRulesFor(
          [...NAMESPACED_KINDS, ...CLUSTER_KINDS, NAMESPACE_KIND, ...POLICY_KINDS],
          READ,
        ),
        // Its reports, in both APIs. delete: reports split in parts shrink back.
        {
          apiGroups: ["openreports.io"],
          resources: ["clusterreports", "reports"],
          verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
        },
        {
          apiGroups: ["wgpolicyk8s.io"],
          resources: ["clusterpolicyreports", "policyreports"],
          verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
        },
      ],
    });
  }
  for (const component of components) {
    const name = component === "webhook" ? NAMES.webhook : NAMES.controller;
    objects.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(name, options, component, false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
    });
  }
  if (options.controller) {
    objects.push(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: meta(NAMES.controller, options, "controller"),
        rules: [
          // Leader election. create cannot be limited by name (the name is in the body).
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
          {
            apiGroups: ["coordination.k8s.io"],
            resources: ["leases"],
            resourceNames: [NAMES.lease],
            verbs: ["get", "update", "watch"],
          },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: meta(NAMES.controller, options, "controller"),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NAMES.controller },
        subjects: [{ kind: "ServiceAccount", name: NAMES.controller, namespace: ns }],
      },
    );
  }

  objects.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(NAMES.config, options, "webhook"),
    data: { "config.yaml": config },
  });
  objects.push({
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(NAMES.tls, options, "webhook"),
    type: "kubernetes.io/tls",
    data: { "ca.crt": b64(certs.caCert), "tls.crt": b64(certs.tlsCert), "tls.key": b64(certs.tlsKey) },
  });
  objects.push({
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(NAMES.webhook, options, "webhook"),
    spec: {
      type: "ClusterIP",
      selector: selector("webhook"),
      ports: [{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }],
    },
  });

  objects.push({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(NAMES.defaultDeny, options),
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  });
  objects.push(networkPolicy(NAMES.webhook, options, "webhook", 8443));
  if (options.controller) objects.push(networkPolicy(NAMES.controller, options, "controller", 8080));

  objects.push({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(NAMES.webhook, options, "webhook"),
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: selector("webhook") },
      // Never below the current count during a rollout: admission must keep answering.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels(options, "webhook"),
          annotations: {
            // A changed config rolls the pods (the webhook reads it once at start).
            "belay.dev/config-sha256": createHash("sha256").update(config).digest("hex"),
          },
        },
        spec: {
          serviceAccountName: NAMES.webhook,
          automountServiceAccountToken: true,
          securityContext: podSecurity(),
          ...spread("webhook"),
          terminationGracePeriodSeconds: 30,
          containers: [
            container(
              "webhook",
              options,
              [
                "webhook",
                "--config",
                "/etc/belay/config.yaml",
                "--tls-cert",
                "/etc/belay/tls/tls.crt",
                "--tls-key",
                "/etc/belay/tls/tls.key",
                // One Node.js process evaluates on one core: a worker per CPU of the limit.
                ...(options.webhookCpus > 1 ? ["--workers", String(options.webhookCpus)] : []),
              ],
              { name: "https", containerPort: 8443, scheme: "HTTPS" },
              {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: String(options.webhookCpus), memory: `${512 * options.webhookCpus}Mi` },
              },
              [{ name: "config", mountPath: "/etc/belay", readOnly: true }],
            ),
          ],
          volumes: [
            {
              // One projected volume: the config and the certificate update in place (a
              // renewed certificate reaches the pods without a restart).
              name: "config",
              projected: {
                sources: [
                  { configMap: { name: NAMES.config, items: [{ key: "config.yaml", path: "config.yaml" }] } },
                  {
                    secret: {
                      name: NAMES.tls,
                      items: [
                        { key: "tls.crt", path: "tls/tls.crt" },
                        { key: "tls.key", path: "tls/tls.key" },
                      ],
                    },
                  },
                ],
              },
            },
          ],
        },
      },
    },
  });
  if (options.controller) {
    objects.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(NAMES.controller, options, "controller"),
      spec: {
        // Two for a quick failover; the lease makes one of them the active one.
        replicas: 2,
        selector: { matchLabels: selector("controller") },
        template: {
          metadata: { labels: labels(options, "controller") },
          spec: {
            serviceAccountName: NAMES.controller,
            automountServiceAccountToken: true,
            securityContext: podSecurity(),
            ...spread("controller"),
            terminationGracePeriodSeconds: 30,
            containers: [
              container(
                "controller",
                options,
                [
                  "controller",
                  "--report-api",
                  "both",
                  "--lease-namespace",
                  ns,
                  "--metrics-port",
                  "8080",
                  // Its default is loopback; the kubelet probes the pod's address.
                  "--metrics-host",
                  "0.0.0.0",
                ],
                { name: "metrics", containerPort: 8080, scheme: "HTTP" },
                { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
                [],
              ),
            ],
          },
        },
      },
    });
  }

  objects.push({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(NAMES.webhook, options, "webhook"),
    spec: { minAvailable: 1, selector: { matchLabels: selector("webhook") } },
  });

  const clientConfig = {
    service: { namespace: ns, name: NAMES.webhook, path: "/validate", port: 443 },
    caBundle: b64(certs.caCert),
  };
  const namespaceSelector = {
    matchExpressions: [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", ns] },
    ],
  };
  objects.push({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: meta(NAMES.webhookConfiguration, options, "webhook", false),
    webhooks: [
      {
        name: WEBHOOK_NAMES.validate,
        clientConfig,
        rules: webhookRules(["CREATE", "UPDATE"], false),
        failurePolicy: options.failurePolicy,
        matchPolicy: "Equivalent",
        namespaceSelector,
        objectSelector: {},
        sideEffects: "None",
        timeoutSeconds: options.timeoutSeconds,
        admissionReviewVersions: ["v1"],
        matchConditions: MATCH_CONDITIONS.map((c) => ({ ...c })),
      },
      {
        // Logged, never enforced: deleting a non-compliant object only helps, and who
        // exec'd into what is an audit trail, not a decision. Ignore: an outage loses log
        // lines, never blocks.
        name: WEBHOOK_NAMES.log,
        clientConfig,
        rules: [
          ...webhookRules(["DELETE"], true),
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CONNECT"],
            resources: ["pods/attach", "pods/exec", "pods/portforward"],
            scope: "Namespaced",
          },
        ],
        failurePolicy: "Ignore",
        matchPolicy: "Equivalent",
        namespaceSelector,
        objectSelector: {},
        sideEffects: "None",
        timeoutSeconds: options.timeoutSeconds,
        admissionReviewVersions: ["v1"],
        matchConditions: [
          {
            // Kubelets delete pods when they finish terminating; that is bookkeeping.
            name: "skip-kubelet",
            expression: "!request.userInfo.username.startsWith('system:node:')",
          },
        ],
      },
    ],
  });
  return objects;
}
