{{- define "app.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "app.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The arguments of kcd-syncer.container and kcd-syncer.rbac for this app. */}}
{{- define "app.syncer" -}}
{{- if not .Values.kcdSyncer.kcd -}}
{{- fail "kcdSyncer.kcd: the KCD's name is required when kcdSyncer.enabled is true" -}}
{{- end -}}
{{- dict "kcd" .Values.kcdSyncer.kcd "kind" "Deployment" "workload" (include "app.fullname" .) "image" .Values.kcdSyncer.image "resources" .Values.kcdSyncer.resources "livenessSeconds" .Values.kcdSyncer.livenessSeconds "port" .Values.kcdSyncer.port "sidecar" true | toJson -}}
{{- end -}}
