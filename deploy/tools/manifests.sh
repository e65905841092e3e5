#!/usr/bin/env bash
# Generates the LongTaskSchedule CRD (deploy/tools/schedulecrd.py), keeps the chart's copies of
# the CRDs, the status admission policy, the alert rules and the dashboard equal to their sources
# and renders the chart with its default values into deploy/manifests/longtask.yaml.
# With --check it changes nothing and fails when anything differs (the drift test runs this).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
chart=$root/charts/longtask
out=$root/deploy/manifests/longtask.yaml
helm=$(bash "$root/deploy/tools/helm.sh")
check=false
[ "${1:-}" = "--check" ] && check=true

status=0
# Generated sources first: the LongTaskSchedule CRD (it copies the LongTask spec and the zones).
python=${PYTHON:-$root/.venv/bin/python}
if $check; then
  "$python" "$root/deploy/tools/schedulecrd.py" --check || status=1
else
  "$python" "$root/deploy/tools/schedulecrd.py" >/dev/null
fi

# source → copy inside the chart (helm's .Files cannot read outside the chart folder).
copies=(
  "deploy/crds/longtask.io_longtasks.yaml:charts/longtask/files/crds/longtask.io_longtasks.yaml"
  "deploy/crds/longtask.io_longtaskschedules.yaml:charts/longtask/files/crds/longtask.io_longtaskschedules.yaml"
  "deploy/crds/longtask.io_longtaskqueues.yaml:charts/longtask/files/crds/longtask.io_longtaskqueues.yaml"
  "deploy/admission/status-policy.yaml:charts/longtask/files/admission/status-policy.yaml"
  "deploy/prometheus/longtask-rules.yaml:charts/longtask/files/prometheus/longtask-rules.yaml"
  "deploy/grafana/longtask-dashboard.json:charts/longtask/files/grafana/longtask-dashboard.json"
)
for pair in "${copies[@]}"; do
  src=$root/${pair%%:*} dst=$root/${pair##*:}
  if $check; then
    cmp -s "$src" "$dst" || { echo "drift: ${pair##*:} differs from ${pair%%:*} (run make manifests)" >&2; status=1; }
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
  fi
done

render() {
  cat <<'YAML'
# longtask, rendered from charts/longtask with its default values by `make manifests`; do not
# edit (a test fails when this file and the chart disagree). Install with
#   kubectl apply --server-side -f deploy/manifests/longtask.yaml
# after creating the gateway's stream-token key, the Redis users' passwords and the history
# database's password and DSN (the chart generates them; plain manifests cannot):
#   kubectl -n longtask create secret generic longtask-stream-token \
#     --from-literal=secret="$(head -c 32 /dev/urandom | base64)"
#   kubectl -n longtask create secret generic longtask-redis-users \
#     --from-literal=operator-password="$(head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9)" \
#     --from-literal=gateway-password="$(head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9)" \
#     --from-literal=task-key="$(head -c 32 /dev/urandom | base64)"
#   pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
#   kubectl -n longtask create secret generic longtask-history --from-literal=password="$pw" \
#     --from-literal=dsn="postgresql://longtask:$pw@longtask-history.longtask.svc:5432/longtask"
---
apiVersion: v1
kind: Namespace
metadata:
  name: longtask
  labels:
    app.kubernetes.io/part-of: longtask
YAML
  "$helm" template longtask "$chart" --namespace longtask \
    --set gateway.streamToken.existingSecret=longtask-stream-token \
    --set history.bundled.existingSecret=longtask-history \
    --set redis.bundled.usersSecret=longtask-redis-users
}

if $check; then
  if ! diff -u "$out" <(render) >&2; then
    echo "drift: deploy/manifests/longtask.yaml differs from the chart (run make manifests)" >&2
    status=1
  fi
  exit $status
fi
render > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
