#!/usr/bin/env bash
# Builds the local base image: Debian bookworm minbase with Python 3 (debootstrap), imported into
# podman. Prints the image reference. Cached twice, keyed by a hash of the recipe (suite, packages,
# mirror, revision):
# the podman tag (nothing to do when it exists) and the root filesystem tarball under
# ~/.cache/longtask/images/ (re-imported after `podman system reset`).
# Used as the Dockerfiles' BASE because no image registry is reachable here; python:*-slim stays
# the default for everyone else.
set -euo pipefail
suite=bookworm
packages=python3,python3-venv,python-is-python3,ca-certificates
# Bump when the recipe below changes in a way that changes the root filesystem.
revision=1
cache=${LONGTASK_CACHE:-$HOME/.cache/longtask}/images

# The mirror apt uses on this machine (the only one reachable), unless given.
mirror=${LONGTASK_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources \
      /etc/apt/sources.list 2>/dev/null | grep -v security | awk '{print $2}' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
mirror=${mirror%/}

key=$(echo "$suite $packages $mirror $revision" | sha256sum | cut -c1-12)
image=localhost/longtask/base:$key
tarball=$cache/base-$key.tar

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap $suite from $mirror (about a minute)" >&2
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
      >"$cache/debootstrap.log" 2>&1; then
    tail -n 30 "$cache/debootstrap.log" >&2
    exit 1
  fi
  # What an image does not need at run time: package caches, lists, docs, man pages, locales.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --message "longtask base: debian $suite minbase + $packages" \
  "$tarball" "$image" >/dev/null
# Bases of earlier inputs: untagged (images built on them keep their layers) and their tarballs.
podman images --format '{{.Repository}}:{{.Tag}}' --filter reference=localhost/longtask/base \
  | grep -vx "$image" | xargs -r -n1 podman untag 2>/dev/null || true
find "$cache" -maxdepth 1 -name 'base-*.tar' ! -name "base-$key.tar" -delete
echo "$image"
