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

{{/* The Secret of the Redis credentials. Bundled Redis: redis.bundled.usersSecret or the chart's
own (redis-users.yaml), with the keys operator-password, gateway-password and task-key. External
Redis: redis.existingSecret.name, with operator-url, gateway-url, runner-url and task-key. ""
when there is none (an external Redis without ACLs, redis.url). */}}
{{- define "longtask.redis.secretName" -}}
{{- if include "longtask.redis.bundled" . }}
{{- .Values.redis.bundled.usersSecret | default (include "longtask.componentName" (dict "ctx" . "component" "redis-users")) }}
{{- else }}
{{- .Values.redis.existingSecret.name }}
{{- end }}
{{- end }}

{{/* The bundled Redis's address (a fully qualified name: tasks' pods in other namespaces use it). */}}
{{- define "longtask.redis.bundledHost" -}}
{{- printf "%s.%s.svc:6379" (include "longtask.componentName" (dict "ctx" . "component" "redis")) .Release.Namespace }}
{{- end }}

{{/* One Redis URL env entry of a component (operator or gateway; runner: the tasks' address).
Bundled: its user's password from the Secret, into the URL by the kubelet ($(VAR)), never in the
pod spec. External: `<component>-url` of redis.existingSecret, or redis.url without ACLs.
Call with (dict "ctx" $ "name" "LONGTASK_REDIS_URL" "component" "operator"). */}}
{{- define "longtask.redis.urlEnv" -}}
{{- $secret := include "longtask.redis.secretName" .ctx -}}
{{- if include "longtask.redis.bundled" .ctx }}
{{- if eq .component "runner" }}
- name: {{ .name }}
  value: {{ printf "redis://%s/0" (include "longtask.redis.bundledHost" .ctx) | quote }}
{{- else }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .component }}-password
- name: {{ .name }}
  value: {{ printf "redis://longtask-%s:$(REDIS_PASSWORD)@%s/0" .component (include "longtask.redis.bundledHost" .ctx) | quote }}
{{- end }}
{{- else if $secret }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .component }}-url
{{- else if .ctx.Values.redis.url }}
- name: {{ .name }}
  value: {{ .ctx.Values.redis.url | quote }}
{{- else }}
{{- fail "set redis.existingSecret.name (or redis.url for a Redis without ACLs), or redis.bundled.enabled" }}
{{- end }}
{{- end }}

{{/* The gateway's Redis env: its own read-only user. */}}
{{- define "longtask.redisEnv.gateway" -}}
{{- include "longtask.redis.urlEnv" (dict "ctx" . "name" "LONGTASK_REDIS_URL" "component" "gateway") | trim }}
{{- end }}

{{/* The operator's Redis env: its own user, the address tasks' pods use, and the tasks' own
users (the key their passwords derive from), unless redis.taskUsers.enabled is false. */}}
{{- define "longtask.redisEnv.operator" -}}
{{- $secret := include "longtask.redis.secretName" . -}}
{{ include "longtask.redis.urlEnv" (dict "ctx" . "name" "LONGTASK_REDIS_URL" "component" "operator") | trim }}
{{ include "longtask.redis.urlEnv" (dict "ctx" . "name" "LONGTASK_RUNNER_REDIS_URL" "component" "runner") | trim }}
- name: LONGTASK_REDIS_TASK_USERS
  value: {{ .Values.redis.taskUsers.enabled | quote }}
{{- if .Values.redis.taskUsers.enabled }}
{{- if not $secret }}
{{- fail "redis.taskUsers.enabled needs redis.existingSecret.name (the operator's Redis user and the key of the tasks' passwords, see docs/install.md); set redis.taskUsers.enabled=false only for a Redis without ACLs" }}
{{- end }}
- name: LONGTASK_REDIS_TASK_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: task-key
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
