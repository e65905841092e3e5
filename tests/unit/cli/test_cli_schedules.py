"""`longtask schedule …` rows and details (pure)."""

from __future__ import annotations

import datetime as dt

from longtask.cli import schedulecmds
from longtask.core import wire
from typer.testing import CliRunner

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make(runs: list[tuple[str, str]], **fields: object) -> wire.Schedule:
    return wire.Schedule.model_validate(
        {
            "namespace": "ns",
            "name": "nightly",
            "uid": "u",
            "schedule": "0 2 * * *",
            "timeZone": "Europe/Berlin",
            "ready": True,
            "lastScheduleTime": "2026-03-10T01:00:00Z",
            "nextScheduleTime": "2026-03-11T01:00:00Z",
            "activeRuns": 1,
            "runs": [{"name": n, "phase": p} for n, p in runs],
            "links": {
                "self": "/s",
                "trigger": "/t",
                "backfill": "/b",
                "suspend": "/p",
                "resume": "/r",
                "runs": "/x",
            },
            **fields,
        }
    )


def test_last_runs_show_outcomes_oldest_first_then_the_running() -> None:
    item = make([("r5", "Running"), ("r4", "Failed"), ("r3", "Succeeded"), ("r2", "Cancelled")])
    assert schedulecmds.last_runs(item) == "⊘✔✘ +1"
    assert schedulecmds.last_runs(make([])) == "-"


def test_a_row_answers_when_next_and_how_the_last_ones_went() -> None:
    row = schedulecmds.schedule_row(make([("r1", "Succeeded")]), NOW)
    assert row == (
        "nightly",
        "0 2 * * *",
        "Europe/Berlin",
        "false",
        "1",
        "✔",
        "11h",
        "2026-03-11 01:00:00",
        "True",
    )
    refused = make([], ready=False, reason="InvalidSchedule")
    assert schedulecmds.schedule_row(refused, NOW)[-1] == "False (InvalidSchedule)"


def test_details_leave_unset_fields_out() -> None:
    details = dict(schedulecmds.schedule_details(make([])))
    assert details["Schedule"] == "0 2 * * * (Europe/Berlin)"
    assert "Last run" not in details
    assert details["Failures in a row"] == "0"


def test_the_schedule_commands_are_on_the_longtask_command() -> None:
    from longtask.cli import commands

    done = CliRunner().invoke(commands.app, ["schedule", "--help"])
    assert done.exit_code == 0
    for command in ("ls", "get", "trigger", "backfill", "suspend", "resume"):
        assert command in done.output
