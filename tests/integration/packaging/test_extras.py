"""One distribution, one extra per audience, each in a fresh virtualenv.

`pip install longtask` gives the runner and the task SDK without the Kubernetes client, kopf,
FastAPI or uvicorn; `longtask[client]` adds a working `longtask` command (and still none of
the servers' libraries); a console script whose extra is missing names that extra and exits 2.
The wheel is built once from the working tree; pip's cache makes the dependencies' downloads
a one-time cost (PyPI is reachable from these machines).
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.packaging import REPO, run

# Distributions `pip install longtask` must not bring: the servers' and the client's libraries.
NOT_IN_BASE = {
    "kopf",
    "fastapi",
    "uvicorn",
    "kubernetes",
    "kubernetes-asyncio",
    "starlette",
    "prometheus-client",
    "pydantic",
    "typer",
    "sqlalchemy",
    "alembic",
    "psycopg",
}
# What the client extra must not bring either.
NOT_IN_CLIENT = {
    "kopf",
    "fastapi",
    "uvicorn",
    "kubernetes",
    "kubernetes-asyncio",
    "starlette",
    "sqlalchemy",
    "alembic",
    "psycopg",
}
QUIET_PIP = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@dataclass(frozen=True)
class Venv:
    folder: Path

    def bin(self, name: str) -> Path:
        return self.folder / "bin" / name

    def run(self, *argv: str | Path) -> tuple[int, str, str]:
        env = {**os.environ, **QUIET_PIP}
        env.pop("PYTHONPATH", None)  # nothing of the working tree's own environment leaks in
        done = run(argv, env=env, cwd=self.folder)
        return done.returncode, done.stdout, done.stderr

    def pip_install(self, requirement: str) -> None:
        code, out, err = self.run(self.bin("python"), "-m", "pip", "install", "-q", requirement)
        assert code == 0, out + err

    def installed(self) -> set[str]:
        code, out, err = self.run(self.bin("python"), "-m", "pip", "list", "--format=json")
        assert code == 0, err
        return {item["name"].lower().replace("_", "-") for item in json.loads(out)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, REPO])
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("longtask-*.whl")
    return built


def fresh_venv(tmp_path_factory: pytest.TempPathFactory, name: str) -> Venv:
    folder = tmp_path_factory.mktemp(name)
    done = run([sys.executable, "-m", "venv", folder])
    assert done.returncode == 0, done.stderr
    return Venv(folder)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Venv:
    venv = fresh_venv(tmp_path_factory, "base")
    venv.pip_install(str(wheel))
    return venv


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Venv:
    venv = fresh_venv(tmp_path_factory, "client")
    venv.pip_install(f"longtask[client] @ {wheel.as_uri()}")
    return venv


def test_the_base_install_runs_the_runner_without_the_servers_libraries(base: Venv) -> None:
    code, _, err = base.run(
        base.bin("python"), "-c", "import longtask.runner, longtask.runner.main, longtask.core"
    )
    assert code == 0, err
    installed = base.installed()
    assert {"longtask", "redis", "httpx"} <= installed
    assert not installed & NOT_IN_BASE


@pytest.mark.parametrize(
    ("script", "extra"),
    [
        ("longtask", "client"),
        ("longtask-gateway", "gateway"),
        ("longtask-operator", "operator"),
        ("longtask-history", "history"),
    ],
)
def test_a_script_without_its_extra_names_it(base: Venv, script: str, extra: str) -> None:
    code, out, err = base.run(base.bin(script), "--help")
    assert code == 2, out + err
    assert f"needs the {extra} extra" in err
    assert f"pip install 'longtask[{extra}]'" in err
    assert "Traceback" not in err


def test_the_client_extra_gives_a_working_command(client: Venv) -> None:
    code, out, err = client.run(client.bin("longtask"), "--help")
    assert code == 0, err
    assert "submit" in out and "watch" in out
    code, _, err = client.run(client.bin("python"), "-c", "import longtask.client")
    assert code == 0, err
    assert not client.installed() & NOT_IN_CLIENT


def test_the_client_extra_does_not_run_the_gateway(client: Venv) -> None:
    code, _, err = client.run(client.bin("longtask-gateway"), "--help")
    assert code == 2
    assert "needs the gateway extra" in err


def test_the_wheel_ships_the_history_migrations(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    folder = "longtask/history/migrations/"
    assert {f"{folder}env.py", f"{folder}script.py.mako"} <= names
    assert f"{folder}versions/0001_history.py" in names


def test_the_wheel_ships_the_kubernetes_client_of_the_operator_and_the_gateway(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"longtask/kubeclient/__init__.py", "longtask/kubeclient/rawjson.py"} <= names
