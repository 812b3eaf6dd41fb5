{{/* Chart name, or nameOverride. */}}
{{- define "waygate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the release's objects: the release name when it already contains the chart name. */}}
{{- define "waygate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "waygate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the pods, and the selector of the Deployment, the PDB and the Gateways' Services. */}}
{{- define "waygate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "waygate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "waygate.labels" -}}
helm.sh/chart: {{ include "waygate.chart" . }}
{{ include "waygate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* --proxy-selector: the selector labels as key=value pairs. */}}
{{- define "waygate.proxySelector" -}}
app.kubernetes.io/name={{ include "waygate.name" . }},app.kubernetes.io/instance={{ .Release.Name }}
{{- end }}

{{- define "waygate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "waygate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "waygate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
