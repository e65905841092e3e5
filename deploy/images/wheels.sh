#!/usr/bin/env bash
# Downloads on the host the wheels that the image builds install offline (package indexes are not
# reachable inside a build): longtask's dependencies from pyproject.toml (the base ones and those
# of every extra the images install, all but `dev`) and the build backend,
# for the base image's Python (Debian bookworm: CPython 3.11.2, x86_64). Writes pip.conf beside
# them, which the Dockerfiles use through the PIP_CONFIG_FILE build argument. Prints the folder.
# Cached under ~/.cache/longtask/wheels/<hash of the requirements>.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
cache=${LONGTASK_CACHE:-$HOME/.cache/longtask}/wheels

requirements=$("$python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))
build = project["build-system"]["requires"]
# redis needs async-timeout below Python 3.11.3; pip evaluates markers against "3.11" only.
extra = ["async-timeout>=4.0.3", "pip", "setuptools", "wheel"]
# Extras the images use; `longtask[...]` entries (one extra naming others) are no downloads.
extras = [
    requirement
    for name, requirements in project["project"].get("optional-dependencies", {}).items()
    if name != "dev"
    for requirement in requirements
    if not requirement.startswith("longtask")
]
# Extras share requirements (pydantic, kubernetes-asyncio): each is listed once.
print("\n".join(dict.fromkeys(project["project"]["dependencies"] + extras + build + extra)))
PY
)
key=$( (cat "$0"; echo "$requirements") | sha256sum | cut -c1-12)
dest=$cache/$key
if [ ! -f "$dest/pip.conf" ]; then
  mkdir -p "$dest"
  echo "downloading wheels into $dest" >&2
  echo "$requirements" >"$dest/requirements.txt"
  "$python" -m pip download -q --disable-pip-version-check --dest "$dest" \
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform linux_x86_64 \
    -r "$dest/requirements.txt" >&2
  printf '[global]\nno-index = true\nfind-links = /wheels\ndisable-pip-version-check = true\n' \
    >"$dest/pip.conf"
fi
echo "$dest"
