{{/* Checks the values once; every template includes it. */}}
{{- define "belay.validate" -}}
{{- if has .Values.namespace (list "kube-system" "kube-public" "kube-node-lease" "default") -}}
{{- fail (printf "namespace: %q is not belay's own; belay labels its namespace Pod Security restricted and excludes it from its webhook, so give it one of its own (default belay-system)" .Values.namespace) -}}
{{- end -}}
{{- if lt (int .Values.replicas) 2 -}}
{{- fail (printf "replicas: %v must be 2 or more; with one replica every rollout or node drain is an outage of admission" .Values.replicas) -}}
{{- end -}}
{{- if or (lt (int .Values.webhookCpus) 1) (gt (int .Values.webhookCpus) 16) (ne (toString (int .Values.webhookCpus)) (toString .Values.webhookCpus)) -}}
{{- fail (printf "webhookCpus: %v must be a whole number from 1 to 16; each CPU runs one webhook worker process" .Values.webhookCpus) -}}
{{- end -}}
{{- if not (has .Values.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "failurePolicy: %q must be Fail or Ignore" .Values.failurePolicy) -}}
{{- end -}}
{{- if or (lt (int .Values.timeoutSeconds) 1) (gt (int .Values.timeoutSeconds) 5) -}}
{{- fail (printf "timeoutSeconds: %v must be 1 to 5; the API server waits this long on every matched request when belay is slow" .Values.timeoutSeconds) -}}
{{- end -}}
{{- end -}}

{{- define "belay.image" -}}
{{- .Values.image | default (printf "ghcr.io/belay-dev/belay:%s" .Chart.AppVersion) -}}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "webhook"). */}}
{{- define "belay.labels" -}}
app.kubernetes.io/name: belay
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
app.kubernetes.io/part-of: belay
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "belay.selector" -}}
app.kubernetes.io/name: belay
app.kubernetes.io/component: {{ . }}
{{- end -}}

{{/* The webhook's config file; the same bytes as `belay install` writes (its checksum rolls the pods). */}}
{{- define "belay.config" -}}
apiVersion: belay.dev/v1alpha1
kind: WebhookConfig
profiles: [all]
pssVersion: latest
policies: []
clusterPolicies: true
exemptNamespaces: [kube-system, {{ .Values.namespace }}]
failureMode: {{ if eq .Values.failurePolicy "Fail" }}deny{{ else }}allow{{ end }}
{{ end -}}

{{- define "belay.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "belay.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Anti-affinity and zone spread; preferred, so a one-node cluster still runs every replica. */}}
{{- define "belay.spread" -}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "belay.selector" . | nindent 14 }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "belay.selector" . | nindent 8 }}
{{- end -}}

{{- define "belay.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
    scheme: {{ .scheme }}
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
    scheme: {{ .scheme }}
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
{{- end -}}

{{/* NetworkPolicy of one component: ingress on its port from anywhere, egress to the API server. */}}
{{- define "belay.networkPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: belay-{{ .component }}
  namespace: {{ .root.Values.namespace }}
  labels:
    {{- include "belay.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "belay.selector" .component | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - ports:
        - protocol: TCP
          port: {{ .port }}
  egress:
    - ports:
        - protocol: TCP
          port: 443
        - protocol: TCP
          port: 6443
{{- end -}}
