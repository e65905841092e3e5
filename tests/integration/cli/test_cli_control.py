"""`longtask submit -f`, `cancel` and `retry` against the real stack: every sample manifest is
accepted, cancelling a finished task is said and exits 0 (1 with --strict), and retrying a
cancelled task re-runs it. The commands run in a pseudo-terminal (pexpect), as people run them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml
from longtask.cli.exitcodes import Exit
from longtask.client import Client
from longtask.core import resource

from tests.fixtures.waiting import wait_for

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SAMPLES = [
    path
    for path in sorted((Path(__file__).resolve().parents[3] / "deploy" / "samples").glob("*.yaml"))
    if yaml.safe_load(path.read_text()).get("kind") == "LongTask"  # not the schedules' samples
]
# Sleeps while it is the task named `first`; a re-run (another name) succeeds at once.
SLOW_FIRST = [
    "sh",
    "-c",
    'if [ "$LONGTASK_NAME" = first ]; then sleep 120; fi; echo "::progress 100 done"',
]


def spawn(stack: Any, env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        str(stack.bin_dir / "longtask"),
        list(args),
        env=env,
        encoding="utf-8",
        timeout=90,
        dimensions=(30, 160),
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """(exit code, output without colours) once the command ended."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, ANSI.sub("", child.before or "")


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_submit_f_accepts_every_sample(
    stack: Any, cli_env: dict[str, str], namespace: str, sample: Path
) -> None:
    # A namespace no operator serves: the sample is stored as submitted, never run.
    env = cli_env | {"LONGTASK_NAMESPACE": namespace}
    code, text = finish(spawn(stack, env, "submit", "-f", str(sample), "-o", "json"))
    assert code == Exit.SUCCESS, text
    manifest = yaml.safe_load(sample.read_text())
    task = json.loads(text[text.index("{") :])
    assert task["name"] == manifest["metadata"]["name"]
    assert task["spec"] == {"params": {}} | manifest["spec"]  # params default to {}
    assert task["labels"] == manifest["metadata"].get("labels", {})


def test_cancel_of_a_finished_task_says_so_and_exits_0(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    lt.submit(command=["true"], name="done-already")
    lt.wait("done-already", timeout=60)

    code, text = finish(spawn(stack, cli_env, "cancel", "done-already"))
    assert code == Exit.SUCCESS, text
    assert "already finished (Succeeded): nothing to cancel" in text

    code, text = finish(spawn(stack, cli_env, "cancel", "--strict", "done-already"))
    assert code == Exit.ERROR, text
    assert "already finished (Succeeded)" in text
    assert not lt.get("done-already").cancel_requested


def test_cancel_twice_then_after_the_end_always_exits_0(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    lt.submit(command=SLOW_FIRST, name="first")
    for _ in range(2):
        code, text = finish(spawn(stack, cli_env, "cancel", "first"))
        assert code == Exit.SUCCESS, text
        assert "Cancellation of" in text or "already finished (Cancelled)" in text
    wait_for(lambda: lt.get("first").phase is resource.Phase.CANCELLED, 60, "Cancelled")
    code, text = finish(spawn(stack, cli_env, "cancel", "first"))
    assert (code, "already finished (Cancelled)" in text) == (Exit.SUCCESS, True), text


def test_retry_of_a_cancelled_task_reruns_it(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    lt.submit(command=SLOW_FIRST, name="first")
    lt.cancel("first")
    wait_for(lambda: lt.get("first").phase is resource.Phase.CANCELLED, 60, "Cancelled")

    child = spawn(stack, cli_env, "retry", "first", "--wait")
    code, text = finish(child)
    assert code == Exit.SUCCESS, text
    assert "Succeeded" in text
    rerun = [t for t in lt.list() if t.retry_of == "first"]
    assert len(rerun) == 1 and rerun[0].phase is resource.Phase.SUCCEEDED
    assert lt.get("first").phase is resource.Phase.CANCELLED  # the original is left as it was
