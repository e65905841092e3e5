#!/usr/bin/env bash
# End-to-end check on the kind cluster (`make kind-e2e`, after kind-install): a command task
# runs to Succeeded with its progress, and the gateway answers on 127.0.0.1:8000.
set -euo pipefail
ctx=kind-longtask
# The chart gives the release namespace the runner account.
ns=longtask
kubectl --context "$ctx" -n "$ns" delete longtask e2e-hello --ignore-not-found --wait
kubectl --context "$ctx" -n "$ns" apply -f - <<'YAML'
apiVersion: longtask.io/v1alpha1
kind: LongTask
metadata:
  name: e2e-hello
spec:
  command: ["sh", "-c", "for i in 25 50 75 100; do echo ::progress $i step $i; sleep 1; done; echo '::result {\"ok\": true}'"]
  timeoutSeconds: 300
YAML
kubectl --context "$ctx" -n "$ns" wait --for=condition=Succeeded longtask/e2e-hello --timeout=300s
progress=$(kubectl --context "$ctx" -n "$ns" get longtask e2e-hello -o jsonpath='{.status.progress}')
[ "$progress" = 100 ] || { echo "progress is $progress, expected 100" >&2; exit 1; }
curl -fsS http://127.0.0.1:8000/healthz >/dev/null
echo "kind e2e: task succeeded with progress 100; gateway healthy"
