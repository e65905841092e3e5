{{/* Names, labels and shared snippets of the longtask chart. */}}

{{/* The chart name, or nameOverride; at most 63 characters (a label value). */}}
{{- define "longtask.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name prefixing every object: fullnameOverride, else release-chart (just the release name
when it already contains the chart name); at most 63 characters (a DNS label).
*/}}
{{- define "longtask.fullname" -}}
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

{{/* The name of one component's objects: <fullname>-<component>, at most 63 characters.
Call with (dict "ctx" $ "component" "operator"). */}}
{{- define "longtask.componentName" -}}
{{- printf "%s-%s" (include "longtask.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "longtask.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "longtask.labels" -}}
helm.sh/chart: {{ include "longtask.chart" . }}
{{ include "longtask.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: longtask
{{- end }}

{{/* Labels that select the objects of this release. */}}
{{- define "longtask.selectorLabels" -}}
app.kubernetes.io/name: {{ include "longtask.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component's objects. Call with (dict "ctx" $ "component" "gateway"). */}}
{{- define "longtask.componentLabels" -}}
{{ include "longtask.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component's pods. Call with (dict "ctx" $ "component" "gateway"). */}}
{{- define "longtask.componentSelectorLabels" -}}
{{ include "longtask.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The ServiceAccount name of the operator or the gateway.
Call with (dict "ctx" $ "component" "operator"). */}}
{{- define "longtask.serviceAccountName" -}}
{{- $sa := get (get .ctx.Values .component) "serviceAccount" }}
{{- if $sa.create }}
{{- default (include "longtask.componentName" .) $sa.name }}
{{- else }}
{{- default "default" $sa.name }}
{{- end }}
{{- end }}

{{/* A longtask image reference: [imageRegistry/]repository:tag (tag defaults to appVersion).
Call with (dict "ctx" $ "image" .Values.operator.image). */}}
{{- define "longtask.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag }}
{{- if .ctx.Values.imageRegistry }}
{{- printf "%s/%s:%s" .ctx.Values.imageRegistry .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/* Is the bundled Redis in use (no external URL, no Secret, bundled enabled)? "true" or "". */}}
{{- define "longtask.redis.bundled" -}}
{{- if and .Values.redis.bundled.enabled (not .Values.redis.url) (not .Values.redis.existingSecret.name) }}true{{ end }}
{{- end }}

{{/* The LONGTASK_REDIS_URL env entry: from the Secret, the external URL or the bundled Redis
(a fully qualified name, since tasks' pods in other namespaces use it too). */}}
{{- define "longtask.redisEnv" -}}
- name: LONGTASK_REDIS_URL
{{- if .Values.redis.existingSecret.name }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret.name }}
      key: {{ .Values.redis.existingSecret.key }}
{{- else if .Values.redis.url }}
  value: {{ .Values.redis.url | quote }}
{{- else if include "longtask.redis.bundled" . }}
  value: {{ printf "redis://%s.%s.svc:6379/0" (include "longtask.componentName" (dict "ctx" . "component" "redis")) .Release.Namespace | quote }}
{{- else }}
{{- fail "set redis.url, redis.existingSecret.name or redis.bundled.enabled" }}
{{- end }}
{{- end }}

{{/* Is the bundled PostgreSQL of the history in use? "true" or "". */}}
{{- define "longtask.history.bundled" -}}
{{- if and .Values.history.enabled .Values.history.bundled.enabled (not .Values.history.existingSecret.name) }}true{{ end }}
{{- end }}

{{/* The LONGTASK_HISTORY_DSN env entry (from a Secret: the DSN holds a password), when the
history is on. */}}
{{- define "longtask.historyEnv" -}}
{{- if .Values.history.enabled }}
- name: LONGTASK_HISTORY_DSN
  valueFrom:
    secretKeyRef:
{{- if .Values.history.existingSecret.name }}
      name: {{ .Values.history.existingSecret.name }}
      key: {{ .Values.history.existingSecret.key }}
{{- else if include "longtask.history.bundled" . }}
      name: {{ .Values.history.bundled.existingSecret | default (include "longtask.componentName" (dict "ctx" . "component" "history")) }}
      key: dsn
{{- else }}
{{- fail "history.enabled needs history.existingSecret.name or history.bundled.enabled" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The runner's ClusterRole, which the operator binds in each namespace where tasks may run. */}}
{{- define "longtask.runnerClusterRole" -}}
{{- include "longtask.componentName" (dict "ctx" . "component" "runner") }}
{{- end }}

{{/* Writable /tmp for containers with a read-only root filesystem. */}}
{{- define "longtask.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* A NetworkPolicy namespaceSelector of the namespaces where tasks may run: namespaceSelector
within watchNamespaces (every namespace when both are empty). */}}
{{- define "longtask.taskNamespaceSelector" -}}
{{- $selector := deepCopy (.Values.namespaceSelector | default dict) }}
{{- if .Values.watchNamespaces }}
{{- $named := dict "key" "kubernetes.io/metadata.name" "operator" "In" "values" .Values.watchNamespaces }}
{{- $_ := set $selector "matchExpressions" (append ($selector.matchExpressions | default list) $named) }}
{{- end }}
{{- if $selector }}
{{- toYaml $selector }}
{{- else }}
{}
{{- end }}
{{- end }}
