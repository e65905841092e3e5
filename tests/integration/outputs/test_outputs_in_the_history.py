"""A finished task's output is archived with its record (bounded: its start), on SQLite and on
PostgreSQL, and read back after Kubernetes deleted the task; the retraction of a failed
attempt's output is applied before it is kept."""

from __future__ import annotations

from kubernetes import client

from tests.fixtures.history import HistoryOperator
from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for

SCRIPT = (
    'if [ "$LONGTASK_ATTEMPT" = 1 ]; then echo "::output withdrawn"; exit 1; fi; '
    'echo "::output Hello"; echo "::output  world"; echo \'::output-json {"n": 1}\''
)


def test_the_output_is_in_the_history_after_the_task_is_gone(
    history_operator: HistoryOperator, k8s: client.ApiClient
) -> None:
    tasks = Tasks(k8s, history_operator.namespace)
    retry = {"maxAttempts": 2, "backoff": {"initialSeconds": 1, "jitter": False}}
    spec = {"command": ["sh", "-c", SCRIPT], "retry": retry, "ttlSecondsAfterFinished": 1}
    uid = tasks.create("told", spec)["metadata"]["uid"]
    wait_for(lambda: not tasks.exists("told"), 120, "the task deleted by its TTL")

    record = history_operator.detail(uid)
    assert record is not None and record.entry.phase == "Succeeded"
    assert record.output is not None
    assert record.output.text == 'Hello world{"n":1}\n'
    assert (record.output.chunks, record.output.truncated) == (3, False)
    assert record.output.bytes == len(record.output.text.encode())
