"""Exceptions a task raises to tell the runner how an attempt ended."""

from __future__ import annotations


class PermanentError(Exception):
    """The task cannot succeed by retrying (bad params, missing input): the attempt exits with the
    non-retryable code and the task fails at once."""


class TaskCancelled(Exception):
    """Raised by `TaskContext.raise_if_cancelled` once the runner got SIGTERM (cancel or deadline).

    Letting it propagate ends the attempt as terminated (exit 143)."""


class SettingsError(Exception):
    """The runner environment is incomplete or malformed (a non-retryable failure)."""
