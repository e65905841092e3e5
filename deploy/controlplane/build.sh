#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from this Go module into a cache folder
# outside the repository, keyed by version, once. Prints the folder. Honors KUBEBUILDER_ASSETS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s_version=$(awk '$1=="k8s.io/kubernetes"{print $2}' "$here/go.mod" | head -n1)
etcd_version=$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2}' "$here/go.mod" | head -n1)

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for bin in kube-apiserver etcd; do
    [ -x "$KUBEBUILDER_ASSETS/$bin" ] || { echo "KUBEBUILDER_ASSETS has no $bin" >&2; exit 1; }
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

cache=${LONGTASK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longtask}/controlplane-$k8s_version-etcd-$etcd_version
if [ -x "$cache/kube-apiserver" ] && [ -x "$cache/kube-controller-manager" ] && [ -x "$cache/etcd" ]; then
  echo "$cache"
  exit 0
fi

mkdir -p "$cache.tmp"
cd "$here"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
# Stamp the version so that `kubectl version` and the API server's /version are honest.
minor=$(echo "$k8s_version" | cut -d. -f2)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor \
  -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
echo "building control plane $k8s_version and etcd $etcd_version into $cache (once; takes minutes)" >&2
go build -trimpath -ldflags "$ldflags" -o "$cache.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$ldflags" -o "$cache.tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
go build -trimpath -ldflags "-s -w" -o "$cache.tmp/etcd" go.etcd.io/etcd/server/v3
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$cache"
