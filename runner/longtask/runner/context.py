"""`TaskContext`: what a Python task gets as its first argument.

Every method is cheap and safe to call from the task's thread or event loop: reporting stores
the latest value and returns (the reporter thread does the I/O, see `reporter`).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Final, TypeVar, overload

from longtask.core import outputs, resource
from longtask.runner.errors import TaskCancelled
from longtask.runner.reporter import Reporter

T = TypeVar("T")

CHECKPOINT_MAX_BYTES: Final = 1024 * 1024
TASK_LOGGER: Final = "longtask.task"


class TaskContext:
    """The task's handle on the runner: progress, output, cancellation, checkpoints and a
    logger."""

    def __init__(
        self,
        *,
        reporter: Reporter,
        cancelled: threading.Event,
        namespace: str | None = None,
        name: str | None = None,
        uid: str | None = None,
        attempt: int = 1,
        last_checkpoint: str | None = None,
    ) -> None:
        self._reporter = reporter
        self._cancelled = cancelled
        self._checkpoint = last_checkpoint
        self._bad_progress_logged = False
        self.namespace = namespace
        """Namespace of the LongTask (None when run by hand)."""
        self.name = name
        """Name of the LongTask (None when run by hand)."""
        self.uid = uid
        """UID of the LongTask: stable across attempts, handy as an idempotency key."""
        self.attempt = attempt
        """This attempt's number, 1-based."""
        self.logger = logging.getLogger(TASK_LOGGER)
        """A logger whose records go to the pod log and to the task's log stream."""

    # -- progress -----------------------------------------------------------------------------

    def progress(self, percent: float, message: str | None = None) -> None:
        """Reports progress (0-100, clamped) and a message (None keeps the last one).

        Costs about a microsecond and never blocks: call it as often as you like; the runner
        sends the latest value at a bounded rate. NaN or an infinite value leaves the progress
        as it was and is reported in the task's log (once per attempt).
        """
        percent = float(percent)
        if not math.isfinite(percent):
            self._bad_progress(percent)
            return
        percent = 0.0 if percent < 0.0 else 100.0 if percent > 100.0 else percent
        if message is None:
            latest = self._reporter.latest
            message = latest[1] if latest is not None else ""
        elif len(message) > resource.MESSAGE_MAX_CHARS:
            message = message[: resource.MESSAGE_MAX_CHARS]
        self._reporter.progress(percent, message)

    def track(
        self,
        items: Iterable[T],
        total: int | None = None,
        message: str | Callable[[T], str] = "{done}/{total}",
        start: float = 0.0,
        end: float = 100.0,
    ) -> Iterator[T]:
        """Iterates over `items`, advancing progress from `start` to `end` as it goes.

        Before each item it raises `TaskCancelled` if the task was cancelled, then reports
        `done / total` of the span with `message` (a format string with `{done}`, `{total}` and
        `{item}`, or a function of the item). `total` defaults to `len(items)`; without one,
        only the message advances. After the last item, progress is `end`.
        """
        if total is None:
            try:
                total = len(items)  # type: ignore[arg-type]
            except TypeError:
                total = None
        done, last = 0, None
        for item in items:
            self.raise_if_cancelled()
            text = self._text(message, done, total, item)
            self.progress(self._span(start, end, done, total), text)
            yield item
            done, last = done + 1, item
        if done:
            self.progress(end, self._text(message, done, done if total is None else total, last))
        else:
            self.progress(end)

    @staticmethod
    def _span(start: float, end: float, done: int, total: int | None) -> float:
        if not total:
            return start
        return start + (end - start) * min(done, total) / total

    @staticmethod
    def _text(message: str | Callable[[Any], str], done: int, total: int | None, item: Any) -> str:
        if callable(message):
            return message(item)
        shown = "?" if total is None else total
        return message.format(done=done, total=shown, item=item)

    def _bad_progress(self, percent: float) -> None:
        if not self._bad_progress_logged:
            self._bad_progress_logged = True
            self.logger.error(
                "longtask: protocol error: ctx.progress needs a finite number, got %r; "
                "progress unchanged (reported once per attempt)",
                percent,
            )

    # -- output -------------------------------------------------------------------------------

    def output(self, chunk: Any) -> None:
        """Appends `chunk` to the task's output: a `str` as text, anything else as a JSON value.

        Never blocks: the chunk is numbered and queued, and the runner writes every chunk, in
        order, with its next flush (none is coalesced or dropped). Followers see it live
        (`output` events) and `longtask output` prints the whole output. Raises
        `OutputLimitError` (a ValueError) for a chunk larger than the chunk limit (default
        64 KiB) or past the task's output limit (default 16 MiB, 100,000 chunks), and
        ValueError for a value that is not JSON (NaN, a set, bytes); nothing is written then.
        """
        is_json = not isinstance(chunk, str)
        try:
            self._reporter.output(chunk, is_json)
        except outputs.OutputLimitError:
            raise
        except (TypeError, ValueError) as exc:
            raise ValueError(f"ctx.output needs text or a JSON value: {exc}") from None

    @overload
    def output_stream(self, tokens: AsyncIterable[T]) -> AsyncIterator[T]: ...
    @overload
    def output_stream(self, tokens: Iterable[T]) -> Iterator[T]: ...

    def output_stream(
        self, tokens: Iterable[T] | AsyncIterable[T]
    ) -> Iterator[T] | AsyncIterator[T]:
        """Passes `tokens` (an iterable or an async iterable) through, each one also output
        (`output`) as the caller takes it: `for token in ctx.output_stream(generate()): ...`.
        """
        if isinstance(tokens, AsyncIterable):
            return self._output_async(tokens)
        return self._output_sync(tokens)

    def _output_sync(self, tokens: Iterable[T]) -> Iterator[T]:
        for token in tokens:
            self.output(token)
            yield token

    async def _output_async(self, tokens: AsyncIterable[T]) -> AsyncIterator[T]:
        async for token in tokens:
            self.output(token)
            yield token

    # -- cancellation -------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once the runner got SIGTERM (cancel or deadline): stop soon, the grace period
        (LONGTASK_GRACE_SECONDS, default 20 s) is running."""
        return self._cancelled.is_set()

    def raise_if_cancelled(self) -> None:
        """Raises `TaskCancelled` once the task is cancelled (the attempt then exits 143)."""
        if self._cancelled.is_set():
            raise TaskCancelled("the task was cancelled")

    # -- checkpoints --------------------------------------------------------------------------

    def checkpoint(self, state: Any) -> None:
        """Saves `state` (JSON-serializable, at most 1 MiB) for the next attempt.

        The value is serialized now (later changes to `state` do not leak in) and written to
        Redis in the background; only the newest checkpoint is kept. It records the output
        position too: an attempt that resumes from it continues the output after the chunks
        output before this call, and the chunks of this attempt after it are retracted.
        """
        encoded = json.dumps(state, separators=(",", ":"), allow_nan=False)
        if len(encoded.encode()) > CHECKPOINT_MAX_BYTES:
            raise ValueError(f"a checkpoint is limited to {CHECKPOINT_MAX_BYTES} bytes of JSON")
        self._checkpoint = encoded
        self._reporter.checkpoint(encoded)

    @property
    def last_checkpoint(self) -> Any:
        """The newest checkpoint: this attempt's, else the previous attempts' (None if none)."""
        return None if self._checkpoint is None else json.loads(self._checkpoint)
