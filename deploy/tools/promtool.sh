#!/usr/bin/env bash
# Prints the path of promtool, installing Debian's `prometheus` package (which ships it) when
# missing. Honors PROMTOOL (an existing promtool to use instead).
set -euo pipefail
if [ -n "${PROMTOOL:-}" ]; then
  echo "$PROMTOOL"
  exit 0
fi
if ! command -v promtool >/dev/null; then
  echo "installing promtool (Debian package prometheus)" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # The package's service must not start here: promtool is all that is wanted.
  export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
command -v promtool
