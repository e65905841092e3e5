#!/usr/bin/env bash
# Builds helm from the Go module proxy at a pinned release into a cache folder outside the
# repository, keyed by version, once. Prints the path of the binary. Honors HELM (an existing
# helm binary to use instead).
set -euo pipefail
# v3.21.x is built against client-go v0.36, the Kubernetes release the project pins (1.36).
helm_version=v3.21.4
k8s_minor=36

if [ -n "${HELM:-}" ]; then
  [ -x "$HELM" ] || { echo "HELM=$HELM is not executable" >&2; exit 1; }
  echo "$HELM"
  exit 0
fi

cache=${LONGTASK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longtask}/helm-$helm_version
if [ -x "$cache/helm" ]; then
  echo "$cache/helm"
  exit 0
fi

mkdir -p "$cache.tmp"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
# The same version stamps as helm's own Makefile, so `helm version` and the default
# .Capabilities.KubeVersion are honest.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version \
  -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
echo "building helm $helm_version into $cache (once; takes minutes)" >&2
GOBIN="$cache.tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$cache/helm"
