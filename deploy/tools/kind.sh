#!/usr/bin/env bash
# Prints the path of kind: the one on PATH, else one built from the Go module proxy at a pinned
# release into a cache folder outside the repository, once. Honors KIND (a binary to use).
set -euo pipefail
kind_version=v0.33.0
if [ -n "${KIND:-}" ]; then
  echo "$KIND"
  exit 0
fi
if command -v kind >/dev/null; then
  command -v kind
  exit 0
fi
cache=${LONGTASK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longtask}/kind-$kind_version
if [ ! -x "$cache/kind" ]; then
  echo "building kind $kind_version into $cache (once)" >&2
  mkdir -p "$cache.tmp"
  CGO_ENABLED=0 GOBIN="$cache.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$kind_version"
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
fi
echo "$cache/kind"
