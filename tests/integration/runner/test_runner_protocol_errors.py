"""Regression: numbers a task cannot report (NaN, Infinity, 1e400, integers beyond 64 bits) are
protocol errors reported in the task's log, and an attempt never ends Succeeded without the
result it meant to report (`::result NaN` used to succeed with no result and progress 0)."""

from __future__ import annotations

from pathlib import Path

import redis
from longtask.core import keys

from tests.fixtures.operator import OperatorProcess, Tasks


def logged(redis_client: redis.Redis, uid: str) -> list[str]:
    return [str(fields["line"]) for _, fields in redis_client.xrange(keys.logs(uid))]


def test_a_bad_result_line_fails_the_attempt_permanently_and_says_why(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    script = 'echo "::progress 50 half"; echo "::result NaN"'
    uid = tasks.create("nan-result", {"command": ["sh", "-c", script]})["metadata"]["uid"]
    status = tasks.wait_final("nan-result")["status"]
    assert status["phase"] == "Failed"
    assert "result" not in status
    attempt = status["attempts"][0]
    assert attempt["reason"] == "PermanentFailure" and attempt["exitCode"] == 3
    expected = "longtask: protocol error: ::result: result: NaN is not a JSON number"
    assert status["message"] == expected
    assert expected in logged(redis_client, uid)


def test_a_bad_progress_line_is_logged_and_the_task_still_succeeds(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    script = 'echo "::progress 40 fine"; echo "::progress Infinity oops"; echo "::result 7"'
    uid = tasks.create("inf-progress", {"command": ["sh", "-c", script]})["metadata"]["uid"]
    status = tasks.wait_final("inf-progress")["status"]
    assert status["phase"] == "Succeeded" and status["result"] == 7
    lines = logged(redis_client, uid)
    assert "::progress Infinity oops" in lines
    assert any(line.startswith("longtask: protocol error: ::progress needs") for line in lines)


def test_a_python_result_beyond_64_bits_fails_the_attempt(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    folder = str(Path(__file__).parent)  # where runner_test_tasks is
    spec = {
        "task": "runner_test_tasks:big_integer",
        "env": [{"name": "PYTHONPATH", "value": folder}],
    }
    tasks.create("big-int", spec)
    status = tasks.wait_final("big-int")["status"]
    assert status["phase"] == "Failed" and status["attempts"][0]["exitCode"] == 3
    assert "must fit 64 bits" in status["message"] and "result" not in status


def test_a_10_mb_output_line_keeps_a_bounded_start_marked_as_cut(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    script = "head -c 10485760 /dev/zero | tr '\\0' x; echo; echo after"
    uid = tasks.create("long-line", {"command": ["sh", "-c", script]})["metadata"]["uid"]
    assert tasks.wait_final("long-line")["status"]["phase"] == "Succeeded"
    cut, after = logged(redis_client, uid)
    assert (
        cut
        == "x" * 8192 + " …[longtask: line cut to its first 8,192 characters of 10,485,760 bytes]"
    )
    assert after == "after"
