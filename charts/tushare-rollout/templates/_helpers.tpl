{{/* The name prefix of every object: <release>-tushare-rollout (or the release name when it says it already). */}}
{{- define "tsr.fullname" -}}
{{- if contains "tushare-rollout" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-tushare-rollout" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tsr.labels" -}}
app.kubernetes.io/name: tushare-rollout
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tsr.operatorSelector" -}}
app.kubernetes.io/name: tushare-rollout
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "tsr.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "tsr.serviceAccount" -}}
{{ .Values.serviceAccount.name | default (include "tsr.fullname" .) }}
{{- end -}}

{{- define "tsr.jobsServiceAccount" -}}
{{ .Values.jobs.serviceAccount.name | default (printf "%s-job" (include "tsr.fullname" .)) }}
{{- end -}}

{{/* The namespaces the operator watches (when not cluster-wide): the list, or the release namespace. */}}
{{- define "tsr.namespaces" -}}
{{- if .Values.watch.namespaces -}}
{{ toJson .Values.watch.namespaces }}
{{- else -}}
{{ toJson (list .Release.Namespace) }}
{{- end -}}
{{- end -}}

{{/* The restricted Pod Security profile, for every container of the chart. */}}
{{- define "tsr.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tsr.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}
