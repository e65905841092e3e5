"""The outbox: flush contents, coalescing, and what survives a failed flush."""

from __future__ import annotations

from longtask.core import events, keys, outputs
from longtask.core.events import EventType
from longtask.runner import outbox, throttling


def make() -> tuple[
    outbox.Outbox, throttling.Latest[outbox.Progress], throttling.Latest[outbox.Checkpoint]
]:
    progress: throttling.Latest[outbox.Progress] = throttling.Latest()
    checkpoint: throttling.Latest[outbox.Checkpoint] = throttling.Latest()
    return outbox.Outbox(4, progress, checkpoint), progress, checkpoint


def test_a_flush_carries_logs_then_the_latest_progress_and_the_state() -> None:
    box, progress, _ = make()
    box.add_log("first")
    for i in range(1000):
        progress.put((i / 10, f"step {i}"))
    box.collect()
    batch = box.batch()
    assert batch.logs == ["first"]
    assert [(e["type"], e.get("message")) for e in batch.events] == [
        ("log", "first"),
        ("progress", "step 999"),
    ]
    assert all(e["attempt"] == 4 for e in batch.events)
    assert batch.state[keys.STATE_PROGRESS] == 99.9
    assert batch.state[keys.STATE_MESSAGE] == "step 999"
    assert batch.state[keys.STATE_ATTEMPT] == 4


def test_a_failed_flush_is_merged_with_newer_reports() -> None:
    box, progress, checkpoint = make()
    box.add_log("a")
    progress.put((10.0, "ten"))
    checkpoint.put(('{"n":1}', 0))
    box.collect()
    box.batch()  # the write fails: nothing is marked flushed
    box.add_log("b")
    progress.put((20.0, "twenty"))
    box.collect()
    retry = box.batch()
    assert retry.logs == ["a", "b"]
    assert [e["message"] for e in retry.events if e["type"] == EventType.PROGRESS] == ["twenty"]
    assert retry.checkpoint == '{"n":1}'
    box.flushed(retry)
    box.collect()
    assert not box.batch()


def test_an_unchanged_progress_is_not_sent_twice() -> None:
    box, progress, _ = make()
    progress.put((50.0, "half"))
    box.collect()
    box.flushed(box.batch())
    progress.put((50.0, "half"))
    box.collect()
    assert not box.batch()


def test_a_flush_carries_at_most_the_per_flush_log_lines_unless_final() -> None:
    box, _, _ = make()
    for i in range(outbox.FLUSH_MAX_LOG_LINES + 10):
        box.add_log(f"line {i}")
    box.collect()
    first = box.batch()
    assert len(first.logs) == outbox.FLUSH_MAX_LOG_LINES
    box.flushed(first)
    assert box.has_more()
    assert box.batch(final=True).logs == [
        f"line {i}" for i in range(outbox.FLUSH_MAX_LOG_LINES, outbox.FLUSH_MAX_LOG_LINES + 10)
    ]


def test_a_heartbeat_carries_the_progress_shown_and_refreshes_expiry() -> None:
    box, progress, _ = make()
    progress.put((30.0, "thirty"))
    box.collect()
    box.flushed(box.batch())
    box.heartbeat_due()
    box.collect()
    batch = box.batch()
    [heartbeat] = [dict(e) for e in batch.events]
    assert heartbeat["type"] == EventType.HEARTBEAT
    assert (heartbeat["progress"], heartbeat["message"]) == (30.0, "thirty")
    assert batch.refresh_ttl
    box.flushed(batch)
    assert not box.batch()


def test_a_checkpoint_newer_than_the_flushed_one_stays_pending() -> None:
    box, _, checkpoint = make()
    checkpoint.put(('{"n":1}', 0))
    box.collect()
    batch = box.batch()
    checkpoint.put(('{"n":2}', 0))
    box.collect()  # arrives while the first flush is in flight
    box.flushed(batch)
    assert box.batch().checkpoint == '{"n":2}'


def output(seq: int, attempt: int = 4) -> outbox.OutputWrite:
    return events.output(attempt, seq, f"t{seq}"), outputs.Position(seq + 1, (seq + 1) * 2)


def test_output_chunks_go_to_both_streams_in_order_and_none_is_dropped() -> None:
    box, _, _ = make()
    total = outbox.FLUSH_MAX_OUTPUTS + 10
    for seq in range(total):
        box.add_output(output(seq))
    first = box.batch()
    assert [e["seq"] for e in first.output_events] == list(range(outbox.FLUSH_MAX_OUTPUTS))
    assert [e for e in first.events if e["type"] == EventType.OUTPUT] == first.output_events
    assert first.output_head == outputs.Position(outbox.FLUSH_MAX_OUTPUTS, 4000)
    box.flushed(first)
    assert box.has_more()
    second = box.batch()
    assert [e["seq"] for e in second.output_events] == list(range(outbox.FLUSH_MAX_OUTPUTS, total))
    box.flushed(second)
    assert not box.has_more()


def test_a_checkpoint_waits_for_the_chunks_before_its_position() -> None:
    box, _, checkpoint = make()
    for seq in range(outbox.FLUSH_MAX_OUTPUTS + 5):
        box.add_output(output(seq))
    checkpoint.put(("cp", outbox.FLUSH_MAX_OUTPUTS + 3))
    box.collect()
    first = box.batch()
    assert first.checkpoint is None  # chunks it covers are not all in this flush
    box.flushed(first)
    box.collect()
    second = box.batch()
    assert second.checkpoint == "cp"
    assert second.output_events[-1]["seq"] == outbox.FLUSH_MAX_OUTPUTS + 4


def test_a_checkpoint_covering_the_flushed_chunks_goes_with_them() -> None:
    box, _, checkpoint = make()
    for seq in range(outbox.FLUSH_MAX_OUTPUTS + 5):
        box.add_output(output(seq))
    checkpoint.put(("cp", 100))
    box.collect()
    assert box.batch().checkpoint == "cp"


def test_final_flush_takes_every_chunk() -> None:
    box, _, _ = make()
    for seq in range(outbox.FLUSH_MAX_OUTPUTS * 2):
        box.add_output(output(seq))
    assert len(box.batch(final=True).output_events) == outbox.FLUSH_MAX_OUTPUTS * 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def kept(budget: throttling.Throttle) -> tuple[outbox.Outbox, throttling.Recent[outbox.Progress]]:
    progress: throttling.Recent[outbox.Progress] = throttling.Recent(outbox.KEPT_BETWEEN + 1)
    checkpoint: throttling.Latest[outbox.Checkpoint] = throttling.Latest()
    return outbox.Outbox(4, progress, checkpoint, keep_between=budget), progress


def messages(batch: outbox.Batch) -> list[str]:
    return [str(e.get("message")) for e in batch.events if e["type"] == EventType.PROGRESS]


def test_values_a_late_flush_would_skip_go_out_within_the_rate() -> None:
    clock = Clock()
    box, progress = kept(throttling.Throttle(0.02, clock, burst=3))
    progress.put((1.0, "one"))
    box.collect()
    assert messages(box.batch()) == ["one"]
    box.flushed(box.batch())
    clock.now += 0.04  # the reporter ran late: two calls before its next flush
    progress.put((2.0, "two"))
    progress.put((3.0, "three"))
    box.collect()
    batch = box.batch()
    assert messages(batch) == ["two", "three"]  # in order, the newest last
    box.flushed(batch)
    assert messages(box.batch()) == []


def test_a_task_reporting_faster_than_the_rate_has_only_the_newest_written() -> None:
    clock = Clock()
    box, progress = kept(throttling.Throttle(0.02, clock, burst=3))
    written = 0
    for flush in range(500):  # 10 s of flushes every 20 ms, 5 calls per flush (250/s)
        clock.now += 0.02
        for call in range(5):
            progress.put((float(flush), f"{flush}.{call}"))
        box.collect()
        batch = box.batch()
        written += len(messages(batch))
        assert messages(batch)[-1] == f"{flush}.4"
        box.flushed(batch)
    assert written <= 500 + 3  # one per flush, and the burst
