"""The longtask runner and the SDK of Python tasks.

A task is a function `(ctx, params) -> result`, sync or async::

    from longtask.runner import TaskContext, PermanentError

    def run(ctx: TaskContext, params: dict) -> dict:
        for doc in ctx.track(params["docs"], message="document {done}/{total}"):
            ...
        return {"done": len(params["docs"])}

The public surface is `TaskContext`, `PermanentError`, `TaskCancelled` and `OutputLimitError`
(what `ctx.output` raises past a limit); everything else is the runner's machinery (`main` is
the `longtask-runner` entry point).
"""

from longtask.core.outputs import OutputLimitError
from longtask.runner.context import TaskContext
from longtask.runner.errors import PermanentError, TaskCancelled

__all__ = ["OutputLimitError", "PermanentError", "TaskCancelled", "TaskContext"]
