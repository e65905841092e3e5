"""The operator and gateway images start with `podman run` against the local control plane and
Redis, set up as the chart runs them (read-only root filesystem, an emptyDir at /tmp, the image's
non-root user, no capabilities), answer their health endpoints, and stop on SIGTERM as PID 1
(no SIGKILL needed)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from longtask.devstack import containers, procs
from longtask.devstack.stack import Stack

from tests.fixtures.waiting import wait_for

# The first test of a session also waits for `make images` (cold: several minutes, see
# deploy/images/README.md) and for a stack of its own.
pytestmark = pytest.mark.timeout(1800)

KUBECONFIG_MOUNT = "/etc/longtask/kubeconfig"
STOP_SECONDS = 20


def podman(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "--runtime", containers.RUNTIME, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def image_uid(image: str) -> int:
    user = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    return int(user.split(":")[0])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError):
        return False


class Service:
    """One detached container of a service image, removed at the end."""

    def __init__(self, image: str, stack: Stack, folder: Path, redis_env: dict[str, str]) -> None:
        self.image = image
        self.name = f"lt-test-{secrets.token_hex(4)}"
        # The admin kubeconfig, readable by the image's user only.
        self.kubeconfig = folder / "kubeconfig"
        shutil.copyfile(stack.kubeconfig, self.kubeconfig)
        uid = image_uid(image)
        os.chown(self.kubeconfig, uid, uid)
        self.kubeconfig.chmod(0o400)
        self.redis_env = redis_env
        # The chart's pods mount an emptyDir at /tmp: the only writable place (the Kubernetes
        # client writes inline certificates of a kubeconfig to temporary files).
        self.tmp = folder / "tmp"
        self.tmp.mkdir()
        self.tmp.chmod(0o777)

    def start(self, env: dict[str, str]) -> None:
        env = env | {"KUBECONFIG": KUBECONFIG_MOUNT} | self.redis_env
        args = ["run", "-d", "--name", self.name, "--network", "host", *containers.limits()]
        args += ["--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL"]
        args += ["--security-opt", "no-new-privileges"]
        args += ["--volume", f"{self.kubeconfig}:{KUBECONFIG_MOUNT}:ro"]
        args += ["--volume", f"{self.tmp}:/tmp"]
        for key in env:  # values through podman's environment: none on a command line
            args += ["--env", key]
        started = podman(*args, self.image, env={"PATH": os.environ["PATH"]} | env)
        assert started.returncode == 0, started.stderr

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.name).stdout.strip()
        assert state == "true", f"{self.image} exited:\n{self.logs()}"
        return True

    def logs(self) -> str:
        done = podman("logs", "--tail", "40", self.name)
        return done.stdout + done.stderr

    def stop(self) -> int:
        """SIGTERM to PID 1, SIGKILL after STOP_SECONDS; the container's exit code."""
        podman("stop", "-t", str(STOP_SECONDS), self.name)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.strip()
        return int(code)

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.name)


@pytest.fixture
def service_factory(container_stack: Stack, tmp_path: Path) -> Iterator[list[Service]]:
    made: list[Service] = []
    yield made
    for service in made:
        service.remove()


def make(made: list[Service], image: str, stack: Stack, folder: Path) -> Service:
    """A service container with its component's Redis settings from the stack."""
    folder.mkdir()
    redis_keys = ("LONGTASK_REDIS_URL", "LONGTASK_RUNNER_REDIS_URL", "LONGTASK_REDIS_TASK_KEY")
    component = stack.operator_env() if "operator" in image else stack.gateway_env()
    service = Service(image, stack, folder, {k: component[k] for k in redis_keys if k in component})
    made.append(service)
    return service


def test_the_operator_image_serves_health_and_metrics_and_stops_on_sigterm(
    images: dict[str, str],
    container_stack: Stack,
    service_factory: list[Service],
    tmp_path: Path,
) -> None:
    operator = make(service_factory, images["operator"], container_stack, tmp_path / "op")
    health, metrics = procs.free_port(), procs.free_port()
    operator.start(
        {
            "LONGTASK_LIVENESS_PORT": str(health),
            "LONGTASK_METRICS_PORT": str(metrics),
            "LONGTASK_METRICS_HOST": "127.0.0.1",
            "LONGTASK_NAMESPACES": "lt-image-test-none",
        }
    )
    wait_for(
        lambda: operator.running() and answers(f"http://127.0.0.1:{health}/healthz"),
        90,
        f"the operator's /healthz (logs: {operator.name})",
    )
    assert answers(f"http://127.0.0.1:{metrics}/metrics")
    code = operator.stop()
    assert code != 137, f"SIGKILLed after {STOP_SECONDS}s: PID 1 ignored SIGTERM\n{operator.logs()}"


def test_the_gateway_image_answers_health_and_readiness_and_stops_on_sigterm(
    images: dict[str, str],
    container_stack: Stack,
    service_factory: list[Service],
    tmp_path: Path,
) -> None:
    gateway = make(service_factory, images["gateway"], container_stack, tmp_path / "gw")
    port = procs.free_port()
    gateway.start(
        {
            "LONGTASK_AUTH_MODE": "apikey",
            "LONGTASK_API_KEY": secrets.token_urlsafe(24),
            "LONGTASK_HOST": "127.0.0.1",
            "LONGTASK_PORT": str(port),
        }
    )
    wait_for(
        lambda: gateway.running() and answers(f"http://127.0.0.1:{port}/healthz"),
        90,
        f"the gateway's /healthz (logs: {gateway.name})",
    )
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/readyz"), 30, "the gateway's /readyz")
    code = gateway.stop()
    assert code != 137, f"SIGKILLed after {STOP_SECONDS}s: PID 1 ignored SIGTERM\n{gateway.logs()}"


# Each image installs its own extra only (the runner image: no extra at all).
LIBRARIES = ("kopf", "fastapi", "uvicorn", "kubernetes_asyncio", "pydantic", "typer")
IMAGE_LIBRARIES = {
    "operator": {"kopf", "kubernetes_asyncio"},
    "gateway": {"fastapi", "uvicorn", "kubernetes_asyncio", "pydantic"},
    "runner": set(),
}


@pytest.mark.parametrize("component", sorted(IMAGE_LIBRARIES))
def test_each_image_holds_only_its_parts_libraries(images: dict[str, str], component: str) -> None:
    probe = f"import importlib.util as u; print(*(m for m in {LIBRARIES!r} if u.find_spec(m)))"
    args = ["run", "--rm", "--network", "none", *containers.limits()]
    args += ["--entrypoint", "/opt/longtask/bin/python", images[component], "-c", probe]
    done = podman(*args)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == IMAGE_LIBRARIES[component]
