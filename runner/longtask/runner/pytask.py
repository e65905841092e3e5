"""Python mode: load `module:function` and call it as `function(ctx, params)`.

A coroutine function runs in the runner's event loop; a plain function runs in its own daemon
thread (so a task that ignores cancellation cannot keep the process alive after the grace
period). The attempt's exit code follows the contract: 0 done, 1 retryable, 3 `PermanentError`
or a task that cannot be loaded, 143 cancelled.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from longtask.core import resource
from longtask.runner import capture, finalreport, results
from longtask.runner.context import TASK_LOGGER, TaskContext
from longtask.runner.errors import PermanentError, TaskCancelled
from longtask.runner.finalreport import Outcome
from longtask.runner.reporter import Reporter
from longtask.runner.settings import Settings
from longtask.runner.termination import Termination

log = logging.getLogger(__name__)


class LoadError(Exception):
    """The task's callable cannot be found."""


def load(spec: str) -> Callable[..., Any]:
    """The callable named `module:attr.attr`."""
    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise LoadError(f"{spec!r} is not of the form module:function")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise LoadError(f"cannot import {module_name!r}: {exc}") from None
    for attr in attr_path.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError:
            raise LoadError(f"{module_name!r} has no attribute {attr_path!r}") from None
    if not callable(target):
        raise LoadError(f"{spec!r} is not callable")
    return target  # type: ignore[no-any-return]


def summary(exc: BaseException) -> str:
    """The one-line error summary that becomes the attempt's message."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line[: resource.MESSAGE_MAX_CHARS]


def classify(exc: BaseException | None, terminated: bool) -> int:
    """The exit code for how the task ended."""
    if exc is None:
        return resource.ExitCode.SUCCESS
    if isinstance(exc, SystemExit) and not terminated:
        # sys.exit(n) in a task means exit code n, as it would in a script.
        if exc.code is None:
            return resource.ExitCode.SUCCESS
        return exc.code if isinstance(exc.code, int) else resource.ExitCode.RETRYABLE
    if terminated or isinstance(exc, TaskCancelled | asyncio.CancelledError):
        return resource.ExitCode.TERMINATED
    if isinstance(exc, PermanentError):
        return resource.ExitCode.PERMANENT
    return resource.ExitCode.RETRYABLE


class _TaskLogHandler(logging.Handler):
    """Copies the task logger's records into the task's log stream."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self._reporter = reporter
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._reporter.log(self.format(record))
        except Exception:
            self.handleError(record)


def _start(fn: Callable[..., Any], ctx: TaskContext, params: dict[str, Any]) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    if inspect.iscoroutinefunction(fn):
        running: asyncio.Future[Any] = asyncio.ensure_future(fn(ctx, params))
        return running
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        try:
            value = fn(ctx, params)
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, name="longtask-task", daemon=True).start()
    return future


async def _finish_value(value: Any) -> Any:
    # A plain function may return an awaitable (a partial of a coroutine function, say).
    return await value if inspect.isawaitable(value) else value


async def run(
    settings: Settings, reporter: Reporter, termination: Termination
) -> tuple[int, Outcome]:
    """Runs the task to its end; returns the exit code and the final report."""
    assert settings.task is not None
    try:
        fn = load(settings.task)
    except LoadError as exc:
        log.error("%s", exc)
        return resource.ExitCode.PERMANENT, Outcome(message=str(exc)[: resource.MESSAGE_MAX_CHARS])
    task_logger = logging.getLogger(TASK_LOGGER)
    handler = _TaskLogHandler(reporter)
    task_logger.addHandler(handler)
    try:
        checkpoint = await asyncio.to_thread(reporter.resume)
        ctx = TaskContext(
            reporter=reporter,
            cancelled=termination.requested,
            namespace=settings.namespace,
            name=settings.name,
            uid=settings.uid,
            attempt=settings.attempt,
            last_checkpoint=checkpoint,
        )
        with capture.stdout_lines(reporter.log):
            return await _supervise(_start(fn, ctx, settings.params), settings, termination)
    finally:
        task_logger.removeHandler(handler)


async def _supervise(
    work: asyncio.Future[Any], settings: Settings, termination: Termination
) -> tuple[int, Outcome]:
    terminated = asyncio.ensure_future(termination.wait())
    await asyncio.wait({work, terminated}, return_when=asyncio.FIRST_COMPLETED)
    if not work.done():
        try:
            await asyncio.wait_for(asyncio.shield(work), settings.grace_seconds)
        except TimeoutError:
            log.warning("the task outlived the grace period of %.0f s", settings.grace_seconds)
            work.cancel()  # an async task gets CancelledError; a thread is left behind
            return resource.ExitCode.TERMINATED, Outcome(message="Cancelled: grace period over")
        except BaseException:
            pass  # the task's own error, read below
    terminated.cancel()
    error = work.exception() if not work.cancelled() else asyncio.CancelledError()
    value: Any = None
    if error is None:
        try:
            value = await _finish_value(work.result())
        except Exception as exc:
            error = exc
    return _outcome(value, error, termination.requested.is_set())


def _outcome(value: Any, error: BaseException | None, terminated: bool) -> tuple[int, Outcome]:
    code = classify(error, terminated)
    if error is None:
        try:
            encoded = None if value is None else results.encode(value)
        except results.ResultError as exc:
            # Through the task's logger, so that it also lands in the task's log stream.
            message = f"longtask: protocol error: the task's result cannot be stored: {exc}"
            logging.getLogger(TASK_LOGGER).error("%s", message)
            return resource.ExitCode.PERMANENT, Outcome(
                message=message[: resource.MESSAGE_MAX_CHARS]
            )
        return code, Outcome(progress=100.0, result=encoded)
    if code == resource.ExitCode.SUCCESS:  # sys.exit() or sys.exit(0)
        return code, Outcome(progress=100.0)
    if code == resource.ExitCode.TERMINATED:
        return code, Outcome(message=finalreport.TERMINATED_MESSAGE)
    # Through the task's logger, so that the traceback also lands in the task's log stream.
    logging.getLogger(TASK_LOGGER).error(
        "the task failed:\n%s", "".join(traceback.format_exception(error)).rstrip()
    )
    return code, Outcome(message=summary(error))
