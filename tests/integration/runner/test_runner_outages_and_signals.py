"""The runner when things go wrong: Redis stopped mid-task, SIGTERM to Python and command tasks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.parse
from pathlib import Path

from longtask.core import events, keys, resource, runnerenv
from longtask.devstack.stack import Stack

from tests.fixtures.runner import (
    RunnerHarness,
    TcpRelay,
    reporting_stats,
    with_server,
)
from tests.fixtures.waiting import wait_for

EXIT = resource.ExitCode


def test_a_redis_outage_mid_task_neither_fails_the_task_nor_stops_the_status(
    runner_harness: RunnerHarness, stack: Stack
) -> None:
    task = runner_harness.create(
        "outage",
        {"task": "runner_test_tasks:slow_progress", "params": {"steps": 60, "delay": 0.1}},
    )
    uid = task["metadata"]["uid"]
    proc = runner_harness.start(task, env={runnerenv.STATUS_INTERVAL: "0.3"})
    wait_for(lambda: runner_harness.events(task, "progress"), what="first progress event")

    stack.stop_redis()
    try:
        before = runner_harness.get("outage")["status"].get("progress", 0)
        wait_for(
            lambda: runner_harness.get("outage")["status"].get("progress", 0) > before + 10,
            what="status progress advancing while Redis is down",
        )
    finally:
        stack.start_redis()
    back = events.now_ms()

    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT.SUCCESS, stderr
    assert "Redis unavailable" in stderr
    status = runner_harness.get("outage")["status"]
    assert (status["progress"], status["result"]) == (100, {"steps": 60})
    after = [e for e in runner_harness.events(task) if e["ts"] >= back]
    assert any(e["type"] == "progress" for e in after), "no events after Redis came back"
    assert runner_harness.events(task, "result")[-1]["result"] == {"steps": 60}
    assert runner_harness.redis.hget(keys.state(uid), keys.STATE_PROGRESS) == "100.0"


def _terminate_when_running(
    harness: RunnerHarness, proc: subprocess.Popen[str], task: dict[str, object]
) -> tuple[str, str]:
    wait_for(lambda: harness.events(task, "progress"), what="the task running")
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)


def test_sigterm_cancels_a_python_task_that_checks_for_it(runner_harness: RunnerHarness) -> None:
    task = runner_harness.create("cancel-py", {"task": "runner_test_tasks:until_cancelled"})
    proc = runner_harness.start(task)
    _, stderr = _terminate_when_running(runner_harness, proc, task)
    assert proc.returncode == EXIT.TERMINATED, stderr
    assert runner_harness.get("cancel-py")["status"]["message"] == "terminated by SIGTERM"


def test_sigterm_cancels_an_async_python_task(runner_harness: RunnerHarness) -> None:
    task = runner_harness.create(
        "cancel-async", {"task": "runner_test_tasks:until_cancelled_async"}
    )
    proc = runner_harness.start(task)
    _, stderr = _terminate_when_running(runner_harness, proc, task)
    assert proc.returncode == EXIT.TERMINATED, stderr
    assert "saw cancellation" in stderr
    logs = runner_harness.redis.xrange(keys.logs(task["metadata"]["uid"]))
    assert any("saw cancellation" in fields["line"] for _, fields in logs)


def test_a_task_ignoring_sigterm_is_cut_off_after_the_grace_period(
    runner_harness: RunnerHarness,
) -> None:
    task = runner_harness.create("stubborn", {"task": "runner_test_tasks:ignores_cancellation"})
    proc = runner_harness.start(task, env={runnerenv.GRACE_SECONDS: "1"})
    _, stderr = _terminate_when_running(runner_harness, proc, task)
    assert proc.returncode == EXIT.TERMINATED, stderr
    assert "grace period" in stderr
    assert runner_harness.get("stubborn")["status"]["message"] == "Cancelled: grace period over"


def test_sigterm_reaches_a_command_and_its_children(runner_harness: RunnerHarness) -> None:
    script = 'echo "::progress 5 started"; echo $$ >&2; sleep 300 & wait'
    task = runner_harness.create("cancel-cmd", {"command": ["sh", "-c", script]})
    proc = runner_harness.start(task)
    _, stderr = _terminate_when_running(runner_harness, proc, task)
    assert proc.returncode == EXIT.TERMINATED, stderr
    status = runner_harness.get("cancel-cmd")["status"]
    assert (status["progress"], status["message"]) == (5, "terminated by SIGTERM")
    shell = int(next(line for line in stderr.splitlines() if line.strip().isdigit()))

    def group_gone() -> bool:
        try:
            os.killpg(shell, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=10, what="the command's process group gone")


def test_a_command_that_finishes_within_the_grace_period_keeps_its_exit_code(
    runner_harness: RunnerHarness,
) -> None:
    script = "trap 'echo \"::progress 100 wrapped up\"; exit 0' TERM; echo '::progress 1 go'; "
    script += "while true; do sleep 0.05; done"
    task = runner_harness.create("graceful", {"command": ["sh", "-c", script]})
    proc = runner_harness.start(task)
    _, stderr = _terminate_when_running(runner_harness, proc, task)
    assert proc.returncode == EXIT.SUCCESS, stderr
    assert runner_harness.get("graceful")["status"]["message"] == "wrapped up"


def test_an_api_server_briefly_unreachable_delays_the_status_but_not_the_task(
    runner_harness: RunnerHarness, tmp_path: Path
) -> None:
    task = runner_harness.create(
        "api-down",
        {"task": "runner_test_tasks:slow_progress", "params": {"steps": 40, "delay": 0.1}},
    )
    own = runner_harness.kubeconfig(task)
    server = json.loads(own.read_text())["clusters"][0]["cluster"]
    target = urllib.parse.urlsplit(server["server"])
    relay = TcpRelay((target.hostname or "127.0.0.1", target.port or 443))
    kubeconfig = with_server(own, f"https://127.0.0.1:{relay.port}", tmp_path / "relay.kubeconfig")
    proc = runner_harness.start(
        task, env={"KUBECONFIG": str(kubeconfig), runnerenv.STATUS_INTERVAL: "0.3"}
    )
    try:
        wait_for(
            lambda: any(e["progress"] >= 25 for e in runner_harness.events(task, "progress")),
            what="the task a quarter done with the API server unreachable",
        )
        assert "progress" not in runner_harness.get("api-down").get("status", {})
        relay.start()
        _, stderr = proc.communicate(timeout=120)
    finally:
        relay.stop()
    assert proc.returncode == EXIT.SUCCESS, stderr
    assert "status patch failed" in stderr
    assert reporting_stats(stderr)["status_failures"] >= 1
    status = runner_harness.get("api-down")["status"]
    assert (status["progress"], status["result"]) == (100, {"steps": 40})
    assert runner_harness.events(task, "result")[-1]["result"] == {"steps": 40}
