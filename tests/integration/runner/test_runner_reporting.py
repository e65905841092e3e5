"""The runner against the real stack: events in Redis, status patches, results, checkpoints.

The runner runs as a subprocess with the contract's environment and the runner service
account's own token (no operator): what it writes is read back from Redis and the API server.
"""

from __future__ import annotations

import time
from pathlib import Path

from longtask.core import keys, resource, runnerenv

from tests.fixtures.runner import RunnerHarness, reporting_stats
from tests.fixtures.waiting import wait_for

EXIT = resource.ExitCode
REPO = Path(__file__).resolve().parents[3]
FAST_STATUS = {runnerenv.STATUS_INTERVAL: "0.5"}


def test_progress_events_arrive_in_order_and_the_final_status_shows_100(
    runner_harness: RunnerHarness,
) -> None:
    task = runner_harness.create(
        "count",
        {"task": "longtask_examples.counting:count", "params": {"n": 20, "delay": 0.05}},
    )
    done = runner_harness.run(task, env=FAST_STATUS)
    assert done.returncode == EXIT.SUCCESS, done.stderr

    progress = runner_harness.events(task, "progress")
    assert progress, "no progress events"
    for event in progress:
        assert set(event) >= {"type", "ts", "attempt", "progress", "message"}
        assert event["attempt"] == 1
    values = [e["progress"] for e in progress]
    assert values == sorted(values)
    stamps = [e["ts"] for e in progress]
    assert stamps == sorted(stamps)
    assert (progress[-1]["progress"], progress[-1]["message"]) == (100, "counted 20 of 20")

    status = runner_harness.get("count")["status"]
    assert status["progress"] == 100
    assert status["message"] == "counted 20 of 20"
    assert status["result"] == {"counted": 20}
    assert "phase" not in status  # the operator owns phases

    results = runner_harness.events(task, "result")
    assert results[-1]["result"] == {"counted": 20}
    state = runner_harness.redis.hgetall(keys.state(task["metadata"]["uid"]))
    assert float(state[keys.STATE_PROGRESS]) == 100 and state[keys.STATE_ATTEMPT] == "1"
    logs = runner_harness.redis.xrange(keys.logs(task["metadata"]["uid"]))
    assert any("counted to 20" in fields["line"] for _, fields in logs)


def test_a_tight_loop_of_progress_calls_causes_few_status_patches(
    runner_harness: RunnerHarness,
) -> None:
    interval = 1.0
    task = runner_harness.create(
        "tight",
        {"task": "runner_test_tasks:tight_loop", "params": {"calls": 100_000, "seconds": 4}},
    )
    watch = runner_harness.watch(task)
    started = time.monotonic()
    done = runner_harness.run(task, env={runnerenv.STATUS_INTERVAL: str(interval)})
    duration = time.monotonic() - started
    assert done.returncode == EXIT.SUCCESS, done.stderr

    bound = duration / interval + 2
    stats = reporting_stats(done.stderr)
    assert 2 <= stats["status_patches"] <= bound, stats
    wait_for(lambda: any(c.get("result") for c in watch.changes), what="final status watched")
    assert len(watch.changes) <= bound
    final = runner_harness.get("tight")["status"]
    assert (final["progress"], final["message"]) == (100, "call 100000")
    progress = runner_harness.events(task, "progress")
    assert len(progress) < 100_000  # coalesced, yet the last value is there
    assert progress[-1]["message"] == "call 100000"


def test_a_command_script_reports_progress_and_a_result(runner_harness: RunnerHarness) -> None:
    script = str(REPO / "examples" / "scripts" / "count.sh")
    task = runner_harness.create("script", {"command": [script, "5", "0.05"]})
    done = runner_harness.run(task, env=FAST_STATUS)
    assert done.returncode == EXIT.SUCCESS, done.stderr
    assert "counting to 5" in done.stdout and "::progress" not in done.stdout

    progress = runner_harness.events(task, "progress")
    assert [e["progress"] for e in progress][-1] == 100
    assert progress[-1]["message"] == "counted 5 of 5"
    assert runner_harness.events(task, "result")[-1]["result"] == {"counted": 5}
    status = runner_harness.get("script")["status"]
    assert status["result"] == {"counted": 5} and status["progress"] == 100
    lines = [f["line"] for _, f in runner_harness.redis.xrange(keys.logs(task["metadata"]["uid"]))]
    assert "counting to 5" in lines and "done" in lines


def test_a_failing_command_exits_with_its_code_and_its_last_error_line(
    runner_harness: RunnerHarness,
) -> None:
    task = runner_harness.create(
        "fails", {"command": ["sh", "-c", "echo '::progress 30 working'; echo no disk >&2; exit 3"]}
    )
    done = runner_harness.run(task)
    assert done.returncode == EXIT.PERMANENT
    status = runner_harness.get("fails")["status"]
    assert status["progress"] == 30
    assert status["message"] == "the command exited with code 3: no disk"


def test_a_large_result_lives_in_redis_and_the_status_points_to_it(
    runner_harness: RunnerHarness,
) -> None:
    size = resource.RESULT_MAX_BYTES + 4000
    task = runner_harness.create(
        "large", {"task": "runner_test_tasks:large_result", "params": {"size": size}}
    )
    done = runner_harness.run(task)
    assert done.returncode == EXIT.SUCCESS, done.stderr
    status = runner_harness.get("large")["status"]
    assert "result" not in status
    assert status["resultRef"] == keys.result(task["metadata"]["uid"])
    stored = runner_harness.redis.get(status["resultRef"])
    assert stored == '{"text":"' + "x" * size + '"}'
    assert "building a large result" in done.stdout
    logs = runner_harness.redis.xrange(keys.logs(task["metadata"]["uid"]))
    assert [f["line"] for _, f in logs] == ["building a large result"]


def test_a_checkpoint_written_in_attempt_1_is_read_by_attempt_2(
    runner_harness: RunnerHarness,
) -> None:
    task = runner_harness.create(
        "flaky",
        {
            "task": "longtask_examples.flaky:resume_after_failure",
            "params": {"items": 6, "fail_after": 4, "delay": 0.01},
        },
    )
    first = runner_harness.run(task, attempt=1)
    assert first.returncode == EXIT.RETRYABLE, first.stderr
    status = runner_harness.get("flaky")["status"]
    assert status["message"] == "FlakyError: simulated failure after 4 items"
    assert runner_harness.redis.get(keys.checkpoint(task["metadata"]["uid"])) is not None

    second = runner_harness.run(task, attempt=2)
    assert second.returncode == EXIT.SUCCESS, second.stderr
    result = runner_harness.get("flaky")["status"]["result"]
    assert result["starts"] == [{"attempt": 1, "from": 0}, {"attempt": 2, "from": 4}]
    attempts = {e["attempt"] for e in runner_harness.events(task, "progress")}
    assert attempts == {1, 2}


def test_a_runner_of_a_replaced_task_does_not_patch_the_new_one(
    runner_harness: RunnerHarness,
) -> None:
    task = runner_harness.create("replaced", {"command": ["sh", "-c", "echo '::progress 50 x'"]})
    stale = {
        **task,
        "metadata": {**task["metadata"], "uid": "00000000-0000-0000-0000-000000000000"},
    }
    done = runner_harness.run(stale)
    assert done.returncode == EXIT.SUCCESS
    assert "status patches stop" in done.stderr or "refused" in done.stderr
    assert "progress" not in runner_harness.get("replaced").get("status", {})
