"""LongTask lifecycles against the real control plane, the local node and Redis."""

from __future__ import annotations

import subprocess
from typing import Any, cast

import redis
from longtask.core import events, keys
from longtask.core.resource import Spec
from longtask.operator import backoff, clock

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for

WRITES = "longtask_operator_api_writes_total"


def statuses(redis_client: redis.Redis, uid: str) -> list[dict[str, Any]]:
    entries: Any = redis_client.xrange(keys.events(uid))
    decoded = [events.decode(fields) for _, fields in entries]
    return [e for e in decoded if e["type"] in ("status", "end")]


def test_success_end_to_end(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis, stack: Any
) -> None:
    script = "echo '::progress 40 working'; sleep 1; echo '::result {\"answer\": 42}'"
    verbs = (
        "create_secret",
        "create_job",
        "patch_status",
        "create_event",
        "delete_job",
        "delete_task",
    )
    writes_before = {v: operator_proc.metric(WRITES, verb=v) for v in verbs}
    created = tasks.create("ok", {"command": ["sh", "-c", script]})
    uid = created["metadata"]["uid"]
    waited = subprocess.run(
        [
            str(stack.bin_dir / "kubectl"),
            f"--kubeconfig={stack.kubeconfig}",
            "-n",
            tasks.namespace,
            "wait",
            "--for=condition=Succeeded",
            "lt/ok",
            "--timeout=60s",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert waited.returncode == 0, waited.stderr
    status = tasks.get("ok")["status"]
    assert status["phase"] == "Succeeded"
    assert status["progress"] == 100
    assert status["result"] == {"answer": 42}
    assert [a["outcome"] for a in status["attempts"]] == ["Succeeded"]
    assert status["attempts"][0]["exitCode"] == 0
    assert len(tasks.jobs(uid)) == 1
    seen = statuses(redis_client, uid)
    assert [(e["type"], e.get("phase")) for e in seen] == [
        ("status", "Pending"),
        ("status", "Running"),
        ("status", "Succeeded"),
        ("end", "Succeeded"),
    ]
    tasks.wait_events("ok", {"Completed"})
    operator_proc.wait_metric(
        "longtask_tasks_finished_total", 1, namespace=tasks.namespace, outcome="Succeeded"
    )
    # The operator's API writes for the whole task (the only task in flight): the Secret of its
    # Redis credentials, one Job, a status
    # patch per phase (Pending and Running merge when the pod finishes before it is seen
    # running), one Event (the outcome: the steps before post none, reconcile.QUIET); none for
    # the runner's progress and result patches.
    operator_proc.wait_metric(WRITES, writes_before["create_event"] + 1, verb="create_event")
    writes = {v: operator_proc.metric(WRITES, verb=v) - writes_before[v] for v in verbs}
    assert writes["create_secret"] == writes["create_job"] == 1 and writes["create_event"] == 1
    assert 2 <= writes["patch_status"] <= 3
    assert writes["delete_job"] == writes["delete_task"] == 0


def test_two_failures_then_success_backs_off_between_three_jobs(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    policy = {"initialSeconds": 1, "factor": 2, "maxSeconds": 10, "jitter": False}
    spec = {
        "command": ["sh", "-c", 'test "$LONGTASK_ATTEMPT" -ge 3 || exit 1'],
        "retry": {"maxAttempts": 3, "backoff": policy},
    }
    uid = tasks.create("flaky", spec)["metadata"]["uid"]
    status = tasks.wait_final("flaky", timeout=90)["status"]
    assert status["phase"] == "Succeeded", status
    records = status["attempts"]
    assert [a["number"] for a in records] == [1, 2, 3]
    assert [a["outcome"] for a in records] == ["Failed", "Failed", "Succeeded"]
    assert [a.get("exitCode") for a in records] == [1, 1, 0]
    names = sorted(j.metadata.name for j in tasks.jobs(uid))
    assert names == ["flaky-1", "flaky-2", "flaky-3"]
    ceiling = backoff.Backoff.from_spec(cast(Spec, spec))
    for n in (1, 2):
        finished = clock.parse_time(records[n - 1]["finish"])
        started = clock.parse_time(records[n]["start"])
        assert finished is not None and started is not None
        gap = (started - finished).total_seconds()
        # No jitter: exactly the ceiling, plus the operator's reaction time.
        assert backoff.ceiling(ceiling, n) <= gap <= backoff.ceiling(ceiling, n) + 3, (n, gap)
    operator_proc.wait_metric("longtask_task_retries_total", 2, namespace=tasks.namespace)


def test_non_retryable_exit_fails_after_one_attempt(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    spec = {"command": ["python3", "-c", "import sys; sys.exit(3)"], "retry": {"maxAttempts": 5}}
    uid = tasks.create("bad", spec)["metadata"]["uid"]
    task = tasks.wait_final("bad")
    status = task["status"]
    assert status["phase"] == "Failed" and status["reason"] == "PermanentFailure"
    assert len(status["attempts"]) == 1 and status["attempts"][0]["exitCode"] == 3
    assert len(tasks.jobs(uid)) == 1
    assert not any(c["type"] == "DeadLettered" for c in status["conditions"])


def test_exhausted_attempts_dead_letter(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    since: Any = redis_client.xrevrange(keys.DEADLETTER, count=1)
    last_id = since[0][0] if since else "0"
    spec = {
        "command": ["sh", "-c", "echo boom >&2; exit 1"],
        "retry": {"maxAttempts": 2, "backoff": {"initialSeconds": 0.5, "jitter": False}},
    }
    uid = tasks.create("doomed", spec)["metadata"]["uid"]
    status = tasks.wait_final("doomed", timeout=60)["status"]
    assert status["phase"] == "Failed" and status["reason"] == "AttemptsExhausted"
    dead = [c for c in status["conditions"] if c["type"] == "DeadLettered"]
    assert dead and dead[0]["status"] == "True"
    assert len(status["attempts"]) == 2 and len(tasks.jobs(uid)) == 2
    entries: Any = redis_client.xrange(keys.DEADLETTER, min=f"({last_id}")
    mine = [fields for _, fields in entries if fields.get("uid") == uid]
    assert len(mine) == 1
    assert mine[0]["name"] == "doomed" and mine[0]["namespace"] == tasks.namespace
    assert mine[0]["attempts"] == "2"
    tasks.wait_events("doomed", {"AttemptsExhausted"})
    ns = tasks.namespace
    operator_proc.wait_metric("longtask_dead_letters_total", 1, namespace=ns)
    assert operator_proc.metric("longtask_task_retries_total", namespace=ns) == 1
    assert (
        operator_proc.metric("longtask_tasks_finished_total", namespace=ns, outcome="Failed") == 1
    )
    assert operator_proc.metric("longtask_tasks_submitted_total", namespace=ns) == 1


def test_timeout_is_a_deadline_exceeded_attempt(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    spec = {"command": ["sleep", "60"], "timeoutSeconds": 2, "retry": {"maxAttempts": 1}}
    tasks.create("slow", spec)
    status = tasks.wait_final("slow", timeout=60)["status"]
    assert status["phase"] == "Failed"
    assert status["attempts"][0]["reason"] == "DeadlineExceeded"
    assert status["attempts"][0]["outcome"] == "Failed"
    # The runner saw only a SIGTERM; the final message says it was the timeout.
    assert status["message"] == "attempt 1 timed out after 2s (DeadlineExceeded)"


def test_invalid_task_fails_at_admission_and_others_still_run(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    tasks.create("huge", {"command": ["true"], "params": {"blob": "x" * 100 * 1024}})
    tasks.create("nosa", {"command": ["true"], "serviceAccountName": "missing"})
    # The API server would refuse this Job: refused before it, not retried for ever.
    overcommitted = {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}
    tasks.create("badres", {"command": ["true"], "resources": overcommitted})
    tasks.create("fine", {"command": ["true"]})
    huge = tasks.wait_final("huge")["status"]
    assert huge["phase"] == "Failed" and huge["reason"] == "InvalidSpec"
    assert "spec.params" in huge["message"] and "64.0 KiB" in huge["message"]
    assert "attempts" not in huge
    nosa = tasks.wait_final("nosa")["status"]
    assert nosa["reason"] == "InvalidSpec" and "'missing' does not exist" in nosa["message"]
    badres = tasks.wait_final("badres")["status"]
    assert badres["reason"] == "InvalidSpec"
    assert "spec.resources.requests.cpu: must be at most its limit" in badres["message"]
    assert tasks.wait_final("fine")["status"]["phase"] == "Succeeded"
    tasks.wait_events("huge", {"InvalidSpec"})


def test_finished_task_is_deleted_after_its_ttl(
    operator_proc: OperatorProcess, tasks: Tasks
) -> None:
    uid = tasks.create("brief", {"command": ["true"], "ttlSecondsAfterFinished": 1})["metadata"][
        "uid"
    ]
    wait_for(lambda: not tasks.exists("brief"), 60, "the finished task to be deleted")
    wait_for(lambda: not tasks.jobs(uid), 60, "its Job to go with it")
    tasks.wait_events("brief", {"Completed"})  # it ended before it went
