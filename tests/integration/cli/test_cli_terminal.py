"""The `longtask` command in a real pseudo-terminal (pexpect) against the real stack: the live
bar advances and finishes, the exit code follows the outcome, Ctrl-C during `watch` leaves the
task running; and in pipes, plain lines and parseable JSON."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pexpect
from longtask.cli.exitcodes import Exit
from longtask.client import Client
from longtask.core import resource

from tests.fixtures.gateway import GatewayFactory
from tests.fixtures.waiting import wait_for
from tests.integration.cli.conftest import progress_command

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(stack: Any, env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        str(stack.bin_dir / "longtask"),
        list(args),
        env=env,
        encoding="utf-8",
        timeout=90,
        dimensions=(30, 160),
    )


def percents_until_eof(child: pexpect.spawn) -> list[int]:
    """Every percentage the bar drew, in order, until the process ended."""
    seen = []
    while child.expect([r"(\d+)%", pexpect.EOF]) == 0:
        seen.append(int(child.match.group(1)))
    child.close()
    return seen


def wait_for_progress(child: pexpect.spawn, at_least: int = 1) -> None:
    """Returns once the bar shows at least `at_least` percent."""
    while True:
        child.expect(r"(\d+)%")
        if int(child.match.group(1)) >= at_least:
            return


def test_submit_wait_draws_an_advancing_bar_and_exits_0(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    command = progress_command(steps=8, pause=0.4)
    child = spawn(stack, cli_env, "submit", "--wait", "--name", "bar", "--", *command)
    seen = percents_until_eof(child)
    text = ANSI.sub("", child.before or "")
    assert child.exitstatus == Exit.SUCCESS, text
    assert seen == sorted(seen), seen
    assert len(set(seen)) >= 3 and seen[-1] == 100, seen
    assert "Succeeded" in text
    assert lt.get("bar").phase is resource.Phase.SUCCEEDED


def test_submit_wait_exits_with_the_failed_code(stack: Any, cli_env: dict[str, str]) -> None:
    child = spawn(stack, cli_env, "submit", "-w", "--max-attempts", "1", "--", "sh", "-c", "exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == Exit.FAILED
    assert "Failed" in ANSI.sub("", child.before or "")


def test_watch_exits_with_the_cancelled_code(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    lt.submit(command=progress_command(steps=300, pause=0.2), name="to-cancel")
    child = spawn(stack, cli_env, "watch", "to-cancel")
    wait_for_progress(child)
    lt.cancel("to-cancel")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == Exit.CANCELLED
    assert "Cancelled" in ANSI.sub("", child.before or "")


def test_ctrl_c_during_watch_leaves_the_task_running(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    lt.submit(command=progress_command(steps=300, pause=0.2), name="left-running")
    child = spawn(stack, cli_env, "watch", "left-running")
    wait_for_progress(child, at_least=1)
    child.sendintr()
    child.expect("keeps running")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == Exit.INTERRUPTED
    # The runner's first progress reaches the CLI through Redis before the operator has seen
    # the pod ready and written Running: the two paths race by a fraction of a second.
    wait_for(lambda: lt.get("left-running").phase is resource.Phase.RUNNING, 30, "Running")
    task = lt.get("left-running")
    assert not task.cancel_requested
    before = task.progress or 0
    # Still advancing after the watcher left (the status is patched every few seconds).
    wait_for(lambda: (lt.get("left-running").progress or 0) > before, 30, "more progress")
    lt.cancel("left-running")


def test_watch_survives_a_gateway_restart(
    stack: Any, cli_env: dict[str, str], gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory()
    env = cli_env | {"LONGTASK_GATEWAY_URL": gw.url, "LONGTASK_TOKEN": gw.key or ""}
    with Client(gw.url, gw.key, namespace=env["LONGTASK_NAMESPACE"]) as lt:
        lt.submit(command=progress_command(steps=30, pause=0.2), name="through-restart")
    child = spawn(stack, env, "watch", "through-restart")
    wait_for_progress(child, at_least=10)
    gw.restart()  # same port; the watcher reconnects with Last-Event-ID
    seen = percents_until_eof(child)
    assert child.exitstatus == Exit.SUCCESS, ANSI.sub("", child.before or "")
    assert seen[-1] == 100


def run(stack: Any, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(stack.bin_dir / "longtask"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_output_json_parses_and_pipes_get_plain_text(
    stack: Any, cli_env: dict[str, str], op_namespace: str
) -> None:
    command = progress_command(steps=3, pause=0.1)
    submitted = run(stack, cli_env, "submit", "-w", "--name", "piped", "-p", "n=3", "--", *command)
    assert submitted.returncode == Exit.SUCCESS, submitted.stderr
    assert "\x1b" not in submitted.stdout  # no colours or cursor moves in a pipe
    lines = submitted.stdout.splitlines()
    assert any(line.startswith(f"{op_namespace}/piped Running") for line in lines), lines
    assert lines[-1].startswith(f"✔ {op_namespace}/piped Succeeded"), lines
    got = run(stack, cli_env, "get", "piped", "-o", "json")
    body = json.loads(got.stdout)
    assert (body["name"], body["spec"]["params"], body["result"]) == (
        "piped",
        {"n": 3},
        {"steps": 3},
    )
    table = run(stack, cli_env, "list")
    assert table.stdout.splitlines()[1].split()[:3] == ["piped", "Succeeded", "100%"]
    logs = run(stack, cli_env, "logs", "piped")
    assert [line for line in logs.stdout.splitlines() if line.startswith("line")] == [
        "line 1",
        "line 2",
        "line 3",
    ]


def test_submit_a_python_task_with_params_and_wait_for_json(
    stack: Any, cli_env: dict[str, str]
) -> None:
    done = run(stack, cli_env, "submit", "-w", "-o", "json", "--task",
               "longtask_examples.counting:count", "-p", "n=3", "-p", "delay=0")  # fmt: skip
    assert done.returncode == Exit.SUCCESS, done.stderr
    task = json.loads(done.stdout)
    assert (task["phase"], task["result"]) == ("Succeeded", {"counted": 3})
