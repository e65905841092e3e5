"""TaskContext: progress clamping, the tracking iterator, cancellation and checkpoints."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from longtask.runner import OutputLimitError, TaskCancelled, TaskContext
from longtask.runner.reporter import Reporter
from longtask.runner.settings import Settings


class RecordingReporter(Reporter):
    """A reporter without sinks that records every report (the real one keeps the latest)."""

    def __init__(self) -> None:
        super().__init__(Settings(None, None, None, 1, "m:f", None, {}, None))
        self.reports: list[tuple[float, str]] = []
        self.checkpoints: list[str] = []
        self.outputs: list[tuple[object, bool]] = []

    def progress(self, percent: float, message: str) -> None:
        super().progress(percent, message)
        self.reports.append((percent, message))

    def checkpoint(self, encoded: str) -> None:
        self.checkpoints.append(encoded)

    def output(self, chunk: object, is_json: bool = False) -> int:
        seq = super().output(chunk, is_json)
        self.outputs.append((chunk, is_json))
        return seq


def make_context(checkpoint: str | None = None) -> tuple[TaskContext, RecordingReporter]:
    reporter = RecordingReporter()
    ctx = TaskContext(reporter=reporter, cancelled=threading.Event(), last_checkpoint=checkpoint)
    return ctx, reporter


def test_progress_is_clamped_and_keeps_the_last_message() -> None:
    ctx, reporter = make_context()
    ctx.progress(-5, "start")
    ctx.progress(250)
    assert reporter.reports == [(0.0, "start"), (100.0, "start")]


def test_non_finite_progress_is_a_protocol_error_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx, reporter = make_context()
    ctx.progress(40, "half")
    for bad in (float("nan"), float("inf"), float("-inf")):
        ctx.progress(bad, "ignored")
    assert reporter.reports == [(40.0, "half")]
    errors = [r.getMessage() for r in caplog.records if r.name == ctx.logger.name]
    assert len(errors) == 1 and "protocol error: ctx.progress needs a finite number" in errors[0]


def test_track_advances_progress_over_a_sized_collection() -> None:
    ctx, reporter = make_context()
    seen = list(ctx.track(["a", "b", "c", "d"], message="doc {done}/{total}: {item}"))
    assert seen == ["a", "b", "c", "d"]
    assert [p for p, _ in reporter.reports] == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert reporter.reports[1][1] == "doc 1/4: b"
    assert reporter.reports[-1][1] == "doc 4/4: d"


def test_track_within_a_span_and_with_a_message_function() -> None:
    ctx, reporter = make_context()
    list(ctx.track(iter(range(2)), total=2, message=lambda i: f"n={i}", start=50, end=90))
    assert reporter.reports == [(50.0, "n=0"), (70.0, "n=1"), (90.0, "n=1")]


def test_track_without_a_total_only_advances_the_message() -> None:
    ctx, reporter = make_context()
    list(ctx.track(iter("xy")))
    assert [p for p, _ in reporter.reports] == [0.0, 0.0, 100.0]
    assert reporter.reports[1][1] == "1/?"
    assert reporter.reports[-1][1] == "2/2"


def test_track_over_nothing_ends_at_the_span_end() -> None:
    ctx, reporter = make_context()
    assert list(ctx.track([], start=0, end=40)) == []
    assert reporter.reports == [(40.0, "")]


def test_track_stops_with_task_cancelled_once_cancelled() -> None:
    cancelled = threading.Event()
    ctx = TaskContext(reporter=RecordingReporter(), cancelled=cancelled)
    seen = []
    with pytest.raises(TaskCancelled):
        for item in ctx.track(range(10)):
            seen.append(item)
            if item == 2:
                cancelled.set()
    assert seen == [0, 1, 2]
    assert ctx.cancelled


def test_raise_if_cancelled_is_silent_until_cancelled() -> None:
    ctx, _ = make_context()
    ctx.raise_if_cancelled()
    assert not ctx.cancelled


def test_checkpoint_is_serialized_at_once_and_becomes_the_last_checkpoint() -> None:
    ctx, reporter = make_context(checkpoint='{"done": 1}')
    assert ctx.last_checkpoint == {"done": 1}
    state = {"done": 2}
    ctx.checkpoint(state)
    state["done"] = 99  # later changes do not leak into the checkpoint
    assert ctx.last_checkpoint == {"done": 2}
    assert reporter.checkpoints == ['{"done":2}']


def test_checkpoint_refuses_what_json_cannot_hold_or_too_much() -> None:
    ctx, reporter = make_context()
    with pytest.raises(TypeError):
        ctx.checkpoint({"x": object()})
    with pytest.raises(ValueError):
        ctx.checkpoint("x" * (2 * 1024 * 1024))
    assert reporter.checkpoints == []
    assert ctx.last_checkpoint is None


def test_output_takes_text_as_text_and_anything_else_as_json() -> None:
    ctx, reporter = make_context()
    ctx.output("Hello")
    ctx.output({"doc": 1, "summary": "s"})
    ctx.output(["a"])
    assert reporter.outputs == [("Hello", False), ({"doc": 1, "summary": "s"}, True), (["a"], True)]
    assert reporter.output_position.seq == 3


def test_output_refuses_what_json_cannot_hold_and_chunks_past_the_limit() -> None:
    ctx, reporter = make_context()
    with pytest.raises(ValueError, match="text or a JSON value"):
        ctx.output(float("nan"))
    with pytest.raises(ValueError, match="text or a JSON value"):
        ctx.output(b"bytes")
    with pytest.raises(OutputLimitError, match="at most 65,536 bytes"):
        ctx.output("x" * 70_000)
    assert reporter.outputs == []


def test_output_stream_outputs_each_token_as_the_caller_takes_it() -> None:
    ctx, reporter = make_context()
    stream = ctx.output_stream(iter(["a", "b", "c"]))
    assert next(stream) == "a"
    assert reporter.outputs == [("a", False)]
    assert list(stream) == ["b", "c"]
    assert [chunk for chunk, _ in reporter.outputs] == ["a", "b", "c"]


def test_output_stream_wraps_an_async_iterator_too() -> None:
    ctx, reporter = make_context()

    async def tokens() -> AsyncIterator[str]:
        for token in ("x", "y"):
            yield token

    async def take() -> list[str]:
        return [token async for token in ctx.output_stream(tokens())]

    assert asyncio.run(take()) == ["x", "y"]
    assert [chunk for chunk, _ in reporter.outputs] == ["x", "y"]
