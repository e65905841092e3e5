#!/usr/bin/env bash
# Installs what `make images` and the local node's container mode need, when missing (Debian):
# podman (builds and runs OCI images without a Docker engine), runc (crun refuses hybrid cgroup
# layouts), debootstrap (the base image's root filesystem), uidmap (rootless podman).
set -euo pipefail
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v newuidmap >/dev/null || need+=(uidmap)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
echo "installing ${need[*]}" >&2
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${need[@]}" >/dev/null
