#!/usr/bin/env bash
# Builds Kueue's controller manager from this Go module into a cache folder outside the
# repository, keyed by version, once, with the CRDs and conversion patches of the same release
# (config/components/crd). Prints the folder. Only the Kueue tests need it (their fixture runs
# this), so `make up` and the rest of the suite never pay for it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1=="sigs.k8s.io/kueue"{print $2}' "$here/go.mod" | head -n1)
cache=${LONGTASK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longtask}/kueue-$version
if [ -x "$cache/kueue" ] && [ -d "$cache/crd" ]; then
  echo "$cache"
  exit 0
fi

rm -rf "$cache.tmp"
mkdir -p "$cache.tmp"
cd "$here"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
echo "building Kueue $version into $cache (once; takes minutes)" >&2
pkg=sigs.k8s.io/kueue/pkg/version
go build -trimpath -ldflags "-s -w -X $pkg.GitVersion=$version" -o "$cache.tmp/kueue" sigs.k8s.io/kueue/cmd/kueue
src=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kueue)
cp -r "$src/config/components/crd" "$cache.tmp/crd"
chmod -R u+w "$cache.tmp/crd"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$cache"
