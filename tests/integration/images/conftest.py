"""Fixtures of the image tests: the images (built, cached), and a local stack of their own whose
local node runs pods' containers with podman (container mode), with an operator serving it.

Skipped with the reason when podman or runc cannot run containers here
(`make images-deps` installs them). LONGTASK_IMAGES_SKIP_BUILD=1 uses the images as they are
instead of running deploy/images/build.sh first (fast iteration; may test stale images).
"""

from __future__ import annotations

import importlib.metadata
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from longtask.devstack import containers
from longtask.devstack.stack import Stack

from tests.fixtures.operator import OperatorProcess, Tasks, make_namespace, operator_env

REPO = Path(__file__).resolve().parents[3]
COMPONENTS = ("operator", "gateway", "runner")
NAMESPACE_PREFIX = "lt-img-"


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Local image reference of each component, built from the current sources."""
    reason = containers.usable_now()
    if reason is not None:
        pytest.skip(f"podman cannot run containers here: {reason}")
    version = importlib.metadata.version("longtask")
    refs = {name: f"{containers.LOCAL_REPOSITORY}{name}:{version}" for name in COMPONENTS}
    if os.environ.get("LONGTASK_IMAGES_SKIP_BUILD") != "1":
        done = subprocess.run(
            ["bash", str(REPO / "deploy" / "images" / "build.sh")],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, f"make images failed:\n{done.stdout}\n{done.stderr}"
    for ref in refs.values():
        found = subprocess.run(["podman", "image", "exists", ref], check=False)
        assert found.returncode == 0, f"{ref} is not built"
    return refs


@pytest.fixture(scope="session")
def container_stack(
    images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A control plane, Redis and a local node in container mode, for this folder's tests."""
    started = Stack.start(tmp_path_factory.mktemp("images-stack"), node_mode="container")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def container_k8s(container_stack: Stack) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(container_stack.kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="session")
def container_operator(
    container_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator (a host process) serving the `lt-img-*` namespaces of the container stack."""
    folder = tmp_path_factory.mktemp("images-operator")
    env = operator_env(container_stack, f"{NAMESPACE_PREFIX}*")
    process = OperatorProcess(env, folder / "operator.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def container_tasks(
    container_stack: Stack, container_k8s: client.ApiClient, container_operator: OperatorProcess
) -> Iterator[Tasks]:
    """LongTasks in a fresh namespace whose pods run as containers."""
    name = make_namespace(container_stack, container_k8s, NAMESPACE_PREFIX)
    yield Tasks(container_k8s, name)
    client.CoreV1Api(container_k8s).delete_namespace(name)


@pytest.fixture
def container_name() -> str:
    return f"lt-test-{secrets.token_hex(4)}"
