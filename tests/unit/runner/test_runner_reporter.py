"""The background reporter against in-memory sinks: coalescing, throttling, outages, the end.

The sinks here are fakes of the Redis writer and the status patcher (no cluster); the same
behaviour is checked against real Redis and a real API server in tests/integration/runner.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from longtask.core import events, keys, outputs, resource
from longtask.runner.errors import StatusGone
from longtask.runner.finalreport import Outcome
from longtask.runner.outbox import LOG_BUFFER_LINES, LOG_LINE_MAX_CHARS, Batch
from longtask.runner.reporter import Reporter
from longtask.runner.settings import Settings

from tests.fixtures.waiting import wait_for


def wait_until(predicate: Callable[[], bool]) -> None:
    """The reporter's thread is fast: poll often."""
    wait_for(predicate, 10.0, "the reporter's thread to get there", interval=0.005)


class FakeRedis:
    def __init__(self) -> None:
        self.fail = False
        self.batches: list[Batch] = []
        self.results: list[str] = []
        self.lock = threading.Lock()
        self.checkpoint: str | None = '{"at": 3}'
        self.head: str | None = None

    async def write(self, batch: Batch) -> None:
        if self.fail:
            raise ConnectionError("redis down")
        with self.lock:
            self.batches.append(batch)

    async def read_resume(self) -> tuple[str | None, str | None]:
        if self.fail:
            raise ConnectionError("redis down")
        return self.checkpoint, self.head

    async def store_result(self, encoded: str) -> str:
        self.results.append(encoded)
        return "longtask:u:result"

    async def close(self) -> None:
        pass

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            found: list[dict[str, Any]] = [dict(e) for b in self.batches for e in b.events]
        return [e for e in found if kind is None or e["type"] == kind]

    def logs(self) -> list[str]:
        with self.lock:
            return [line for b in self.batches for line in b.logs]


class FakeStatus:
    def __init__(self) -> None:
        self.failures_left = 0
        self.gone = False
        self.patches: list[resource.Status] = []
        self.calls = 0

    async def patch(self, status: resource.Status) -> None:
        self.calls += 1
        if self.gone:
            raise StatusGone("404")
        if self.failures_left:
            self.failures_left -= 1
            raise OSError("api server unreachable")
        self.patches.append(status)

    async def close(self) -> None:
        pass


SETTINGS = Settings(
    namespace="ns",
    name="t",
    uid="u",
    attempt=2,
    task="m:f",
    command=None,
    params={},
    redis_url="redis://unused",
    status_interval=0.2,
    heartbeat_interval=0.1,
)


@pytest.fixture
def sinks() -> Iterator[tuple[Reporter, FakeRedis, FakeStatus]]:
    redis, status = FakeRedis(), FakeStatus()
    reporter = Reporter(
        SETTINGS,
        redis_sink=lambda _: redis,
        status_sink=lambda _: status,
        event_interval=0.01,
    )
    reporter.start()
    yield reporter, redis, status


def test_progress_events_are_in_order_and_the_final_one_is_never_dropped(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, status = sinks
    started = time.monotonic()
    for i in range(100_000):
        reporter.progress(i / 1000, f"step {i}")
    wait_until(lambda: any(e["message"] == "step 99999" for e in redis.events("progress")))
    stats = reporter.finish(Outcome(progress=100.0, result='{"ok":true}'), timeout=5.0)
    elapsed = time.monotonic() - started

    progress = redis.events("progress")
    values = [e["progress"] for e in progress]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert (progress[-1]["progress"], progress[-1]["message"]) == (100.0, "step 99999")
    assert all(e["attempt"] == 2 and isinstance(e["ts"], int) for e in progress)
    assert len(progress) < 100_000  # coalesced
    assert redis.events("result")[-1]["result"] == {"ok": True}
    assert status.patches[-1] == {
        "progress": 100.0,
        "message": "step 99999",
        "result": {"ok": True},
    }
    assert len(status.patches) <= elapsed / SETTINGS.status_interval + 2
    assert stats.status_patches == len(status.patches)


def test_heartbeats_and_state_carry_the_attempt_and_the_latest_progress(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    reporter.progress(42.0, "half way")
    wait_until(lambda: any(e.get("progress") == 42.0 for e in redis.events("heartbeat")))
    reporter.finish(Outcome(), timeout=5.0)
    state = [b.state for b in redis.batches if b.state][-1]
    assert state[keys.STATE_PROGRESS] == 42.0 and state[keys.STATE_ATTEMPT] == 2
    assert int(state[keys.STATE_HEARTBEAT]) <= events.now_ms()


def test_redis_outage_keeps_status_patches_and_delivers_logs_and_latest_progress_after(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, status = sinks
    redis.fail = True
    reporter.log("during the outage")
    reporter.progress(30.0, "while redis is down")
    wait_until(lambda: reporter.stats.redis_failures >= 2)
    wait_until(lambda: {"progress": 30.0, "message": "while redis is down"} in status.patches)
    assert redis.events("progress") == [] and redis.events("log") == []
    reporter.progress(60.0, "still down")
    redis.fail = False
    wait_until(lambda: any(e["message"] == "still down" for e in redis.events("progress")))
    reporter.finish(Outcome(progress=100.0), timeout=5.0)
    assert "during the outage" in redis.logs()
    assert [e["message"] for e in redis.events("log")] == ["during the outage"]
    assert redis.events("progress")[-1]["progress"] == 100.0


def test_api_server_errors_are_retried_and_the_final_patch_arrives(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, _, status = sinks
    status.failures_left = 2
    reporter.progress(10.0, "a")
    wait_until(lambda: status.calls >= 3)
    reporter.progress(20.0, "b")
    reporter.finish(Outcome(message="finished"), timeout=10.0)
    assert status.patches[-1] == {"progress": 20.0, "message": "finished"}
    assert reporter.stats.status_failures == 2


def test_a_gone_task_stops_status_patches(sinks: tuple[Reporter, FakeRedis, FakeStatus]) -> None:
    reporter, _, status = sinks
    status.gone = True
    reporter.progress(10.0, "a")
    wait_until(lambda: status.calls == 1)
    reporter.progress(20.0, "b")
    reporter.finish(Outcome(progress=100.0), timeout=5.0)
    assert status.calls == 1 and status.patches == []


def test_a_large_result_goes_to_redis_and_the_status_points_to_it(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, status = sinks
    big = json.dumps({"text": "x" * 20_000}, separators=(",", ":"))
    reporter.finish(Outcome(progress=100.0, result=big), timeout=5.0)
    assert redis.results == [big]
    assert status.patches[-1]["resultRef"] == "longtask:u:result"
    assert "result" not in status.patches[-1]
    assert redis.events("result")[-1]["resultRef"] == "longtask:u:result"


def test_checkpoints_are_read_at_start_and_the_latest_is_written(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    assert reporter.resume() == '{"at": 3}'
    for i in range(1000):
        reporter.checkpoint(json.dumps({"at": i}))
    reporter.finish(Outcome(), timeout=5.0)
    written = [b.checkpoint for b in redis.batches if b.checkpoint is not None]
    assert outputs.decode_checkpoint(written[-1]) == ('{"at":999}', outputs.Position())
    assert len(written) < 1000


def test_without_redis_a_checkpoint_read_gives_up_in_time(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    redis.fail = True
    assert reporter.resume(timeout=0.5) is None
    reporter.finish(Outcome(), timeout=1.0)


def test_log_lines_are_bounded_while_redis_is_down_and_the_newest_survive(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    redis.fail = True
    wait_until(lambda: reporter.stats.redis_failures >= 1)
    for i in range(3 * LOG_BUFFER_LINES):
        reporter.log(f"line {i}")
    redis.fail = False
    reporter.finish(Outcome(), timeout=5.0)
    delivered = redis.logs()
    assert delivered[-1] == f"line {3 * LOG_BUFFER_LINES - 1}"
    assert len(delivered) <= 2 * LOG_BUFFER_LINES
    assert reporter.stats.logs_dropped == 3 * LOG_BUFFER_LINES - len(delivered)
    numbers = [int(line.split()[1]) for line in delivered]
    assert numbers == sorted(numbers)


def test_a_long_log_line_is_cut_for_redis(sinks: tuple[Reporter, FakeRedis, FakeStatus]) -> None:
    reporter, redis, _ = sinks
    reporter.log("y" * (LOG_LINE_MAX_CHARS + 100))
    reporter.log("z" * 100, 10 * 1024 * 1024)  # the start of a 10 MiB line cut before
    reporter.finish(Outcome(), timeout=5.0)
    assert redis.logs() == [
        "y" * LOG_LINE_MAX_CHARS
        + " …[longtask: line cut to its first 8,192 characters of 8,292 bytes]",
        "z" * 100 + " …[longtask: line cut to its first 100 characters of 10,485,760 bytes]",
    ]


def test_every_output_chunk_is_written_once_in_order_through_an_outage(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    assert reporter.resume() == '{"at": 3}'
    redis.fail = True
    for i in range(3000):
        reporter.output(f"t{i} ")
    redis.fail = False
    reporter.output({"n": 1}, is_json=True)
    reporter.finish(Outcome(), timeout=5.0)
    written = redis.events("output")
    assert [e["seq"] for e in written] == list(range(3001))
    assert [e["chunk"] for e in written[:2]] == ["t0 ", "t1 "]
    assert written[-1]["json"] is True
    with redis.lock:
        in_output_stream = [e["seq"] for b in redis.batches for e in b.output_events]
    assert in_output_stream == list(range(3001))


def test_a_checkpoint_records_the_output_position_and_the_next_attempt_retracts_the_rest(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    redis.checkpoint = outputs.encode_checkpoint('{"next": 700}', outputs.Position(700, 2800))
    redis.head = json.dumps({"seq": 750, "bytes": 3000})
    assert reporter.resume() == '{"next":700}'
    assert reporter.output_position == outputs.Position(700, 2800)
    reporter.output("abcd")
    reporter.checkpoint('{"next": 701}')
    reporter.finish(Outcome(), timeout=5.0)
    [retract] = redis.events("retract")
    assert (retract["seq"], retract["count"], retract["resumed"], retract["attempt"]) == (
        700,
        50,
        True,
        2,
    )
    assert [e["seq"] for e in redis.events("output")] == [700]
    stored = [b.checkpoint for b in redis.batches if b.checkpoint is not None][-1]
    assert outputs.decode_checkpoint(stored)[1] == outputs.Position(701, 2804)


def test_without_a_checkpoint_an_earlier_output_is_retracted_whole(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    redis.checkpoint, redis.head = None, json.dumps({"seq": 40, "bytes": 400})
    assert reporter.resume() is None
    reporter.finish(Outcome(), timeout=5.0)
    [retract] = redis.events("retract")
    assert (retract["seq"], retract["count"], retract["resumed"]) == (0, 40, False)


def test_no_retraction_when_the_earlier_output_ended_at_the_checkpoint(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    redis.checkpoint = outputs.encode_checkpoint("1", outputs.Position(5, 5))
    redis.head = json.dumps({"seq": 5, "bytes": 5})
    reporter.resume()
    reporter.finish(Outcome(), timeout=5.0)
    assert redis.events("retract") == []


def test_a_chunk_past_a_limit_raises_and_is_not_written(
    sinks: tuple[Reporter, FakeRedis, FakeStatus],
) -> None:
    reporter, redis, _ = sinks
    with pytest.raises(outputs.OutputLimitError, match="at most 65,536 bytes"):
        reporter.output("x" * (64 * 1024 + 1))
    assert reporter.output("ok") == 0
    reporter.finish(Outcome(), timeout=5.0)
    assert [e["chunk"] for e in redis.events("output")] == ["ok"]
