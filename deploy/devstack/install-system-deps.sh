#!/usr/bin/env bash
# Installs the system packages the local stack needs when they are missing (Debian): Redis and
# its Sentinel, and PostgreSQL for the history's tests on a real server (the stack's default
# history is SQLite).
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
# Sentinels for the failover drills (a replica and three Sentinels around the stack's Redis).
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# Headless Chromium for the dashboard's browser tests (skip with LONGTASK_BROWSER_TESTS=0).
if [ "${LONGTASK_BROWSER_TESTS:-1}" != 0 ]; then
  command -v chromium >/dev/null || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
echo "installing ${need[*]}" >&2
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
