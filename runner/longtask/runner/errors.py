"""Exceptions a task raises to tell the runner how an attempt ended, and the runner's own."""

from __future__ import annotations


class PermanentError(Exception):
    """The task cannot succeed by retrying (bad params, missing input): the attempt exits with the
    non-retryable code and the task fails at once."""


class TaskCancelled(Exception):
    """Raised by `TaskContext.raise_if_cancelled` once the runner got SIGTERM (cancel or deadline).

    Letting it propagate ends the attempt as terminated (exit 143)."""


class SettingsError(Exception):
    """The runner environment is incomplete or malformed (a non-retryable failure)."""


class StatusGone(Exception):
    """The status cannot be patched any more (deleted or re-created): stop trying."""


class StatusRejected(Exception):
    """The API server refused this patch's content; retrying the same patch cannot help."""
