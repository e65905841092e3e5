"""`longtask queue` rows and details (pure views)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from longtask.cli import queuecmds
from longtask.core import wire

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def queue(**fields: object) -> wire.Queue:
    body = {
        "namespace": "ns",
        "name": "llm",
        "uid": "u",
        "links": {"self": "/q", "suspend": "/q/suspend", "resume": "/q/resume"},
        **fields,
    }
    return wire.Queue.model_validate(body)


def test_a_row_shows_limits_counts_and_the_oldest_wait() -> None:
    item = queue(
        maxRunning=8,
        running=8,
        queued=12,
        oldestQueuedTime=NOW - timedelta(minutes=3),
        concurrencyKey={"label": "tenant"},
        maxRunningPerKey=2,
        rateLimit={"starts": 60, "periodSeconds": 60},
    )
    assert queuecmds.queue_row(item, NOW) == (
        "llm", "8", "8", "12", "3m", "2 by label tenant", "60/60s", "false",
    )  # fmt: skip
    assert queuecmds.queue_row(queue(suspend=True), NOW) == (
        "llm", "-", "0", "0", "-", "-", "-", "true",
    )  # fmt: skip


def test_details_leave_out_what_is_not_set() -> None:
    keys = [k for k, _ in queuecmds.queue_details(queue(maxRunning=3), NOW)]
    assert keys == ["Name", "Namespace", "Max running", "Suspended", "Running", "Queued"]
