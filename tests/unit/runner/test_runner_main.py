"""The `longtask-runner` entry point as a process: its help, and what its start imports."""

from __future__ import annotations

import subprocess
import sys

from longtask.core import runnerenv

# Libraries of the other parts: a task image that adds the runner must not need any of them.
FOREIGN = ("kubernetes", "kubernetes_asyncio", "kopf", "fastapi", "uvicorn", "pydantic", "yaml")


def test_help_names_the_environment_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "longtask.runner.main", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in (runnerenv.TASK, runnerenv.COMMAND, runnerenv.PARAMS, runnerenv.REDIS_URL):
        assert name in done.stdout


def test_an_unknown_argument_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "longtask.runner.main", "--nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unrecognized arguments: --nope" in done.stderr


def test_the_runner_and_both_sinks_import_no_library_of_the_other_parts() -> None:
    script = (
        "import sys\n"
        "import longtask.runner.main, longtask.runner.redissink, longtask.runner.statussink\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({FOREIGN!r}))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
