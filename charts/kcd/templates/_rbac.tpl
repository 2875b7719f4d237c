{{/*
Names shared by rbac.yaml and admission-policy.yaml. A syncer identity's own rules are the kcd-syncer library chart's
`kcd-syncer.rules` (one definition for app charts and this chart's `syncers:`); they grant the verb below.
The chart README's "RBAC" section lists every rule and the code path that needs it.
*/}}

{{/* The controller's leader-election Lease (kcd run --lease-name; its default). */}}
{{- define "kcd.leaseName" -}}
kcd-controller
{{- end -}}

{{/*
The custom RBAC verb on kcds.kcd.io that marks a syncer identity (kcd-syncer.rules grants it by this name); the
admission policy tests it with `authorizer`.
*/}}
{{- define "kcd.syncerVerb" -}}
kcd-syncer
{{- end -}}

{{/*
A verb nobody is ever granted by name: an identity allowed it holds `*` on kcds (cluster-admin, system:masters), so it
is an administrator, not a syncer, even though `*` also "allows" the syncer verb.
*/}}
{{- define "kcd.wildcardProbeVerb" -}}
kcd-wildcard-probe
{{- end -}}
