{{/* Helpers of the syncer injection webhook, the syncer ConfigMaps and the standalone syncers. */}}

{{- define "kcd.webhook.name" -}}
{{- printf "%s-webhook" (include "kcd.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kcd.webhook.selectorLabels" -}}
{{ include "kcd.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/* The syncer image: syncer.image.* falling back to image.* (the one kcd image carries every entry point). */}}
{{- define "kcd.syncer.image" -}}
{{- $repo := .Values.syncer.image.repository | default .Values.image.repository -}}
{{- $tag := .Values.syncer.image.tag | default .Values.image.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* `<namespace>/<name>` of the ConfigMap whose data.version is the syncer image tag. */}}
{{- define "kcd.configmapKey" -}}
{{- .Values.configmapKey | default (printf "%s/%s-version" .Release.Namespace (include "kcd.fullname" .)) -}}
{{- end -}}

{{/*
The container the webhook injects: the kcd-syncer library chart's one definition, rendered as a native sidecar with
the per-pod parts left empty (the webhook fills KCD_NAME, KCD_WORKLOAD_KIND, KCD_WORKLOAD_NAME, the image tag from
data.version and the liveness failureThreshold from the KCD's livenessSeconds).
*/}}
{{- define "kcd.syncer.injected" -}}
{{- include "kcd-syncer.container" (dict "image" (include "kcd.syncer.image" .) "pullPolicy" .Values.image.pullPolicy "resources" .Values.syncer.resources "sidecar" true) -}}
{{- end -}}

{{/*
The webhook's self-generated TLS, computed once per render (the Secret and the caBundle must agree): a new CA and
serving certificate on every install and upgrade; the CA of the previous release (looked up in the Secret) stays in
the caBundle, so pods still serving the old certificate until their Secret volume refreshes are trusted meanwhile.
Returns JSON {cert, key, ca, bundle}.
*/}}
{{- define "kcd.webhook.certs" -}}
{{- if not (hasKey .Values "__kcdWebhookCerts") -}}
{{- $service := include "kcd.webhook.name" . -}}
{{- $ns := .Release.Namespace -}}
{{- $ca := genCA (printf "%s-ca" $service) 3650 -}}
{{- $sans := list $service (printf "%s.%s" $service $ns) (printf "%s.%s.svc" $service $ns) (printf "%s.%s.svc.cluster.local" $service $ns) -}}
{{- $ips := list -}}
{{- with .Values.webhook.url -}}
{{- /* Registered by URL: the certificate names that host too (an IP address as an IP SAN). */ -}}
{{- $host := (urlParse .).hostname -}}
{{- if regexMatch "^[0-9.]+$" $host -}}
{{- $ips = append $ips $host -}}
{{- else if $host -}}
{{- $sans = append $sans $host -}}
{{- end -}}
{{- end -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $service $ns) $ips $sans 3650 $ca -}}
{{- $bundle := $ca.Cert -}}
{{- $previous := lookup "v1" "Secret" $ns (printf "%s-tls" $service) -}}
{{- if and $previous $previous.data (hasKey $previous.data "ca.crt") -}}
{{- $bundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) (index $previous.data "ca.crt" | b64dec) -}}
{{- end -}}
{{- $_ := set .Values "__kcdWebhookCerts" (dict "cert" $cert.Cert "key" $cert.Key "ca" $ca.Cert "bundle" $bundle) -}}
{{- end -}}
{{- get .Values "__kcdWebhookCerts" | toJson -}}
{{- end -}}
