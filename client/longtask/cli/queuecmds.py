"""`longtask queue …`: list, show, suspend and resume LongTaskQueues.

A typer sub-app over the client, built on `commands`'s helpers and registered on its app as
`queue` when this module is imported (`launch` does). The rows and details are pure functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import typer
from longtask.cli import commands, output, suspension
from longtask.client import errors
from longtask.core import wire

QUEUE_COLUMNS: Final = (
    "NAME",
    "MAX",
    "RUNNING",
    "QUEUED",
    "OLDEST WAIT",
    "PER KEY",
    "RATE",
    "SUSPEND",
)

app = typer.Typer(
    name="queue",
    help="List, show, suspend and resume queues (LongTaskQueues).",
    no_args_is_help=True,
)
commands.app.add_typer(app, name="queue")


def _complete_queues(ctx: typer.Context, incomplete: str) -> list[str]:
    namespace = ctx.params.get("namespace")
    try:
        with commands._connection(ctx).client(namespace) as lt:
            return [q.name for q in lt.queues() if q.name.startswith(incomplete)]
    except (errors.LongtaskError, ValueError):
        return []


NAME = typer.Argument(help="The queue's name.", autocompletion=_complete_queues, show_default=False)
QueueName = Annotated[str, NAME]


# ---- pure views -------------------------------------------------------------------------------


def rate(item: wire.Queue) -> str:
    if not item.rate_limit:
        return "-"
    return f"{item.rate_limit.get('starts')}/{item.rate_limit.get('periodSeconds')}s"


def per_key(item: wire.Queue) -> str:
    if item.max_running_per_key is None or not item.concurrency_key:
        return "-"
    ((source, field),) = item.concurrency_key.items()
    return f"{item.max_running_per_key} by {source} {field}"


def queue_row(item: wire.Queue, now: datetime | None = None) -> tuple[str, ...]:
    return (
        item.name,
        "-" if item.max_running is None else str(item.max_running),
        str(item.running),
        str(item.queued),
        output.age(item.oldest_queued_time, now) if item.oldest_queued_time else "-",
        per_key(item),
        rate(item),
        "true" if item.suspend else "false",
    )


def queue_details(item: wire.Queue, now: datetime | None = None) -> list[tuple[str, str]]:
    rows: list[tuple[str, str | None]] = [
        ("Name", item.name),
        ("Namespace", item.namespace),
        ("Max running", "no limit" if item.max_running is None else str(item.max_running)),
        ("Per key", None if per_key(item) == "-" else per_key(item)),
        ("Rate limit", None if rate(item) == "-" else rate(item)),
        ("Suspended", "yes" if item.suspend else "no"),
        ("Running", str(item.running)),
        ("Queued", str(item.queued)),
        (
            "Oldest wait",
            output.age(item.oldest_queued_time, now) if item.oldest_queued_time else None,
        ),
    ]
    return [(key, value) for key, value in rows if value]


# ---- commands ---------------------------------------------------------------------------------


@app.command("ls")
def list_queues(
    ctx: typer.Context,
    namespace: commands.Namespace = None,
    fmt: commands.Output = output.Format.TEXT,
) -> None:
    """List queues: limits, running and queued tasks, how long the oldest waits."""
    show = commands._rows(QUEUE_COLUMNS, queue_row, "No queues found.")
    commands._answer(ctx, namespace, fmt, lambda lt: list(lt.queues()), show)


@app.command("get")
def get_queue(
    ctx: typer.Context,
    name: QueueName,
    namespace: commands.Namespace = None,
    fmt: commands.Output = output.Format.TEXT,
) -> None:
    """Show one queue: its limits and counts."""
    commands._answer(
        ctx,
        namespace,
        fmt,
        lambda lt: lt.queue(name),
        lambda q: commands._details(queue_details(q)),
    )


suspension.add_commands(
    app,
    "queues",
    name=NAME,
    helps=(
        "Suspend a queue: none of its tasks starts (they stay Queued); running ones finish.",
        "Resume a queue: its tasks are admitted again, in order.",
    ),
    resumed=lambda q: f"{q.queued} queued",
)
