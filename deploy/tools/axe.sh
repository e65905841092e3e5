#!/usr/bin/env bash
# Prints the path of axe-core's axe.min.js, the accessibility checker the dashboard's browser
# tests inject into each page; installs it from npm into ~/.cache/longtask once (and npm from
# Debian when missing). It is a test tool only: nothing shipped loads it.
set -euo pipefail
version=4.14.1
cache=${XDG_CACHE_HOME:-$HOME/.cache}/longtask/axe-core-$version
file=$cache/node_modules/axe-core/axe.min.js
if [ ! -f "$file" ]; then
  if ! command -v npm >/dev/null; then
    echo "installing npm (Debian)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "installing axe-core $version from npm into $cache" >&2
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "axe-core@$version" >&2
fi
echo "$file"
