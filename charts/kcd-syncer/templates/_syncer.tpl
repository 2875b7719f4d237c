{{/*
The one definition of the kcd syncer container. Every way of running a syncer renders it from here: the per-app
values of an app chart (kcdSyncer.*), the kcd chart's standalone `syncers:` Deployments, and the kcd chart's
`<fullname>-syncer` ConfigMap that the injection webhook reads (it fills in KCD_NAME, KCD_WORKLOAD_KIND,
KCD_WORKLOAD_NAME by name, the image tag and the liveness failureThreshold; nothing else).

kcd-syncer.container takes a dict:
  kcd              the KCD's name (env KCD_NAME)
  kind             the workload's kind: Deployment, StatefulSet, DaemonSet or CronJob (env KCD_WORKLOAD_KIND)
  workload         the workload's name (env KCD_WORKLOAD_NAME)
  image            the syncer image reference (the kcd image: it carries the kcd-syncer entry point)
  pullPolicy       default IfNotPresent
  resources        the container's resources (a map)
  livenessSeconds  the KCD's livenessSeconds (default 300): /healthz failing that long restarts the syncer
  port             /healthz and /metrics port (default 8082; pods share one network namespace)
  sidecar          true: a native sidecar (an init container with restartPolicy: Always)
It renders one list item (indent it under `containers:` or `initContainers:`).
*/}}
{{- define "kcd-syncer.container" -}}
{{- $port := int (.port | default 8082) -}}
{{- $period := 10 -}}
- name: kcd-syncer
  image: {{ .image | quote }}
  imagePullPolicy: {{ .pullPolicy | default "IfNotPresent" }}
  command: ["kcd-syncer"]
  {{- if .sidecar }}
  restartPolicy: Always
  {{- end }}
  env:
    - name: KCD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: KCD_NAME
      value: {{ .kcd | default "" | quote }}
    - name: KCD_WORKLOAD_KIND
      value: {{ .kind | default "" | quote }}
    - name: KCD_WORKLOAD_NAME
      value: {{ .workload | default "" | quote }}
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: KCD_SYNCER_PORT
      value: {{ $port | quote }}
  ports:
    - name: kcd-syncer
      containerPort: {{ $port }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: {{ $port }}
    periodSeconds: {{ $period }}
    failureThreshold: {{ ceil (divf (int (.livenessSeconds | default 300)) $period) }}
  resources:
    {{- toYaml (.resources | default dict) | nindent 4 }}
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    runAsNonRoot: true
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
{{- end -}}

{{/*
kcd-syncer.leaseName: the syncer's Lease, `kcd-syncer-<kind>-<name>`, cut with a hash past 63 characters
(kcd.syncerhealth.lease_name). Takes a dict {kind, workload}.
*/}}
{{- define "kcd-syncer.leaseName" -}}
{{- $full := printf "kcd-syncer-%s-%s" (lower .kind) .workload -}}
{{- if le (len $full) 63 -}}
{{- $full -}}
{{- else -}}
{{- printf "%s-%s" (regexReplaceAll "[-.]+$" (trunc 54 $full) "") (sha256sum $full | trunc 8) -}}
{{- end -}}
{{- end -}}

{{/*
kcd-syncer.rules: the rules of one syncer identity, exactly the calls of sidecar/kubeapi.py, each on the one object it
needs. Takes a dict {kcd, kind, workload}; renders a list to put under a Role's `rules:`.
*/}}
{{- define "kcd-syncer.rules" -}}
{{- $kinds := dict "Deployment" (list "apps" "deployments") "StatefulSet" (list "apps" "statefulsets") "DaemonSet" (list "apps" "daemonsets") "CronJob" (list "batch" "cronjobs") -}}
{{- $kind := get $kinds (.kind | default "") -}}
{{- if not $kind -}}
{{- fail (printf "kcd-syncer: kind %q is not one of Deployment, StatefulSet, DaemonSet, CronJob" .kind) -}}
{{- end -}}
# Its KCD: imageRepo, tag, versionSyntax, pollIntervalSeconds (GET).
- apiGroups: ["kcd.io"]
  resources: ["kcds"]
  resourceNames: [{{ .kcd | quote }}]
  verbs: ["get"]
# The marker kcd's admission policy recognises a syncer identity by (no API request uses this verb).
- apiGroups: ["kcd.io"]
  resources: ["kcds"]
  verbs: ["kcd-syncer"]
# Its own workload: read it, and merge-patch the kcd.io/candidate-* annotations.
- apiGroups: [{{ index $kind 0 | quote }}]
  resources: [{{ index $kind 1 | quote }}]
  resourceNames: [{{ .workload | quote }}]
  verbs: ["get", "patch"]
# One poller per workload: its Lease, read and renewed by name.
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: [{{ include "kcd-syncer.leaseName" . | quote }}]
  verbs: ["get", "update"]
# The first syncer creates that Lease; RBAC cannot restrict create by name.
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
{{- end -}}

{{/*
kcd-syncer.rbac: a Role with kcd-syncer.rules and its RoleBinding to the syncer's ServiceAccount.
Takes a dict:
  name            the Role and RoleBinding name
  namespace       the workload's namespace
  serviceAccount  the ServiceAccount the syncer runs as
  kcd, kind, workload   as for kcd-syncer.container
  labels          extra metadata labels (a map, optional)
*/}}
{{- define "kcd-syncer.rbac" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  {{- with .labels }}
  labels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
rules:
  {{- include "kcd-syncer.rules" . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  {{- with .labels }}
  labels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ .serviceAccount }}
    namespace: {{ .namespace }}
{{- end -}}
