"""`longtask schedule …`: list, show, trigger, backfill, suspend and resume LongTaskSchedules.

A typer sub-app over the client, built on `commands`'s helpers (where the gateway is, error
reporting, output formats, following a run) and registered on its app as `schedule` when this
module is imported (`launch` does). The rows and details are pure functions here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Final

import typer
from longtask.cli import commands, output, suspension
from longtask.client import errors
from longtask.core import wire

SCHEDULE_COLUMNS: Final = (
    "NAME",
    "SCHEDULE",
    "TIMEZONE",
    "SUSPEND",
    "ACTIVE",
    "LAST RUNS",
    "LAST SCHEDULE",
    "NEXT SCHEDULE",
    "READY",
)
RUN_COLUMNS: Final = ("RUN", "SLOT", "TRIGGER", "PHASE", "PROGRESS", "AGE")
# How a run ended, one character each in LAST RUNS (oldest left, newest right).
OUTCOME_MARKS: Final = {"Succeeded": "✔", "Failed": "✘", "Cancelled": "⊘"}
LAST_RUNS: Final = 5

app = typer.Typer(
    name="schedule",
    help="List, show, trigger, backfill, suspend and resume schedules (LongTaskSchedules).",
    no_args_is_help=True,
)
commands.app.add_typer(app, name="schedule")


def _complete_schedules(ctx: typer.Context, incomplete: str) -> list[str]:
    namespace = ctx.params.get("namespace")
    try:
        with commands._connection(ctx).client(namespace) as lt:
            return [s.name for s in lt.schedules() if s.name.startswith(incomplete)]
    except (errors.LongtaskError, ValueError):
        return []


NAME = typer.Argument(
    help="The schedule's name.", autocompletion=_complete_schedules, show_default=False
)
ScheduleName = Annotated[str, NAME]


# ---- pure views -------------------------------------------------------------------------------


def last_runs(item: wire.Schedule, count: int = LAST_RUNS) -> str:
    """The outcomes of the latest finished runs, oldest first (✔ succeeded, ✘ failed,
    ⊘ cancelled), then `+N` running."""
    finished = [r for r in item.runs if r.phase.is_final][:count]
    marks = "".join(OUTCOME_MARKS.get(r.phase.value, "?") for r in reversed(finished))
    running = sum(1 for r in item.runs if not r.phase.is_final)
    if running:
        marks += f" +{running}"
    return marks or "-"


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def schedule_row(item: wire.Schedule, now: datetime | None = None) -> tuple[str, ...]:
    ready = "-" if item.ready is None else ("True" if item.ready else f"False ({item.reason})")
    return (
        item.name,
        item.schedule,
        item.time_zone,
        "true" if item.suspend else "false",
        str(item.active_runs),
        last_runs(item),
        output.age(item.last_schedule_time, now) if item.last_schedule_time else "-",
        _when(item.next_schedule_time),
        ready,
    )


def schedule_details(item: wire.Schedule) -> list[tuple[str, str]]:
    last = item.last_run
    rows: list[tuple[str, str | None]] = [
        ("Name", item.name),
        ("Namespace", item.namespace),
        ("Schedule", f"{item.schedule} ({item.time_zone})"),
        ("Concurrency", item.concurrency_policy),
        ("Missed runs", item.missed_runs),
        ("Suspended", "yes" if item.suspend else "no"),
        ("Ready", None if item.ready is None else ("yes" if item.ready else "no")),
        ("Reason", item.reason),
        ("Message", item.message),
        ("Last schedule", _when(item.last_schedule_time) if item.last_schedule_time else None),
        ("Next schedule", _when(item.next_schedule_time) if item.next_schedule_time else None),
        ("Last run", f"{last.name} {last.phase}" if last and last.name else None),
        ("Last success", _when(item.last_successful_time) if item.last_successful_time else None),
        ("Active runs", str(item.active_runs)),
        ("Failures in a row", str(item.consecutive_failures)),
    ]
    return [(key, value) for key, value in rows if value]


def run_rows(
    runs: Sequence[wire.ScheduleRun], now: datetime | None = None
) -> list[tuple[str, ...]]:
    return [
        (
            r.name,
            _when(r.scheduled_time),
            r.trigger or "-",
            str(r.phase),
            output.percent(r.progress),
            output.age(r.created_at, now),
        )
        for r in runs
    ]


# ---- commands ---------------------------------------------------------------------------------


@app.command("ls")
def list_schedules(
    ctx: typer.Context,
    namespace: commands.Namespace = None,
    fmt: commands.Output = output.Format.TEXT,
) -> None:
    """List schedules: cron, time zone, active runs, the last runs' outcomes, next slot."""
    show = commands._rows(SCHEDULE_COLUMNS, schedule_row, "No schedules found.")
    commands._answer(ctx, namespace, fmt, lambda lt: list(lt.schedules()), show)


@app.command("get")
def get_schedule(
    ctx: typer.Context,
    name: ScheduleName,
    namespace: commands.Namespace = None,
    fmt: commands.Output = output.Format.TEXT,
) -> None:
    """Show one schedule and its runs."""
    with commands._reporting(), commands._connection(ctx).client(namespace) as lt:
        item = lt.schedule(name)
    if fmt is not output.Format.TEXT:
        commands._emit(output.plain(item), fmt)
        return
    commands._details(schedule_details(item))
    if item.runs:
        print()
        commands._table(RUN_COLUMNS, run_rows(item.runs))


@app.command()
def trigger(
    ctx: typer.Context,
    name: ScheduleName,
    namespace: commands.Namespace = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run to its end.")] = False,
    wait_timeout: commands.WaitTimeoutOpt = None,
    fmt: commands.Output = output.Format.TEXT,
) -> None:
    """Run the schedule's template now, outside its slots (a run named <name>-manual-<time>).

    With --wait it follows the run and exits with its outcome, as `watch` does."""
    with commands._reporting(), commands._connection(ctx).client(namespace) as lt:
        run = lt.trigger(name)
        if wait:
            commands._follow(lt, run.name, fmt, wait_timeout)
    if fmt is not output.Format.TEXT:
        commands._emit(output.plain(run), fmt)
    else:
        print(f"Started run {run.namespace}/{run.name} of schedule {name}.")


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def backfill(
    ctx: typer.Context,
    name: ScheduleName,
    start: Annotated[
        str,
        typer.Option(
            "--from", help="First time, ISO 8601 (UTC when it has no offset).", show_default=False
        ),
    ],
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last time (default: now).", show_default=False),
    ] = None,
    namespace: commands.Namespace = None,
    fmt: commands.Output = output.Format.TEXT,
) -> None:
    """Run the schedule's slots from --from to --to, both included (at most 100).

    A slot whose run exists is left alone, so a backfill repeated is harmless."""
    first = _moment(start)
    last = _moment(end) if end else datetime.now(UTC)
    with commands._reporting(), commands._connection(ctx).client(namespace) as lt:
        done = lt.backfill(name, first, last)
    if fmt is not output.Format.TEXT:
        commands._emit(output.plain(done), fmt)
        return
    print(
        f"{len(done.slots)} slots of {name}: {len(done.created)} runs started, "
        f"{len(done.existing)} had a run already."
    )
    for run in done.created:
        print(f"  started {run.name}")


suspension.add_commands(
    app,
    "schedules",
    name=NAME,
    helps=(
        "Suspend a schedule: no slot starts until it is resumed.",
        "Resume a schedule; the slots it missed meanwhile follow its missedRuns.",
    ),
    resumed=lambda s: f"{s.missed_runs} for missed slots",
)
