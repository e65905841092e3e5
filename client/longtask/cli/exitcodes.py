"""Exit codes of the `longtask` command, one per outcome a script may want to tell apart."""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    SUCCESS = 0  # the call worked; with --wait/watch: the task Succeeded
    ERROR = 1  # the gateway refused the call or could not be reached
    USAGE = 2  # bad command-line arguments (click's own code)
    FAILED = 3  # the waited-for task Failed
    CANCELLED = 4  # the waited-for task was Cancelled
    TIMEOUT = 5  # --wait-timeout passed; the task keeps running
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); the task keeps running
