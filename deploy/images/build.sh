#!/usr/bin/env bash
# `make images`: builds the operator, gateway and runner images here, without a Docker engine or a
# registry: the local Debian base (base.sh, cached), the wheels downloaded on the host (wheels.sh,
# cached), then each deploy/docker/<name>.Dockerfile with podman, the base as BASE and the wheels
# mounted read-only at /wheels. Images stay in local podman storage as
# localhost/longtask/longtask-<name>:<version>. Prints build times and image sizes.
# Usage: build.sh [name...]   (default: operator gateway runner)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/deploy/images
cd "$root"
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(operator gateway runner)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
# Raising resource limits is not permitted on these machines: pass lower ones than the host's.
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

began=$SECONDS
base=$(bash "$here/base.sh")
wheels=$(bash "$here/wheels.sh")
echo "base $base, wheels $wheels ($((SECONDS - began))s)"

missing=()
for name in "${names[@]}"; do
  dockerfile=deploy/docker/$name.Dockerfile
  if [ ! -f "$dockerfile" ]; then
    missing+=("$name")
    continue
  fi
  image=localhost/longtask/longtask-$name:$version
  started=$SECONDS
  # --network none: the build must not need the network (the wheels are all it installs).
  podman --runtime runc build -q --layers \
    -f "$dockerfile" --ignorefile "$dockerfile.dockerignore" \
    --build-arg BASE="$base" --build-arg PIP_CONFIG_FILE=/wheels/pip.conf \
    -v "$wheels:/wheels:ro" --network none "${limits[@]}" \
    --label io.longtask.base="$base" -t "$image" . >/dev/null
  echo "built $image ($((SECONDS - started))s)"
done
# Intermediate images are the layer cache of the next build: only old ones are dropped.
podman image prune -f --filter until=72h >/dev/null || true
echo "images (${SECONDS}s in all):"
podman images --filter reference='localhost/longtask/*' \
  --format '  {{.Repository}}:{{.Tag}}  {{.Size}}'
if [ ${#missing[@]} -gt 0 ]; then
  echo "no Dockerfile for: ${missing[*]} (expected deploy/docker/<name>.Dockerfile)" >&2
  exit 1
fi
