"""The CLI's renderings: ages, durations, tables, JSON/YAML, and the live state's lines."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from longtask.cli import live, output
from longtask.client import TaskEvent, streams
from longtask.core import taskstate, wire
from longtask.core.resource import Phase
from rich.console import Console

from tests.unit.cli import sse

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (42, "42s"), (119, "119s"), (120, "2m"), (7199, "119m"), (7200, "2h"),
     (86400, "1d"), (3 * 86400 + 5, "3d")],
)  # fmt: skip
def test_age_reads_like_kubectl(seconds: int, text: str) -> None:
    assert output.age(NOW - timedelta(seconds=seconds), NOW) == text


def test_age_of_unknown_time_and_future_time() -> None:
    assert output.age(None, NOW) == "-"
    assert output.age(NOW + timedelta(seconds=5), NOW) == "0s"


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (42.9, "0:42"), (3723, "1:02:03")])
def test_duration(seconds: float, text: str) -> None:
    assert output.duration(seconds) == text


def test_task_rows_and_plain_table_align_columns() -> None:
    tasks = [
        wire.Task.model_validate(
            sse.task(name="a", progress=40.4, attempt=2, message="half\nway", createdAt=NOW)
        ),
        wire.Task.model_validate(sse.task(name="long-name", phase="Pending")),
    ]
    rows = [output.task_row(t, NOW + timedelta(seconds=90)) for t in tasks]
    assert rows[0] == ("a", "Running", "40%", "2", "half way", "90s")
    assert rows[1] == ("long-name", "Pending", "-", "-", "-", "-")
    lines = output.plain_table(output.TASK_COLUMNS, rows).splitlines()
    assert lines[0].split() == list(output.TASK_COLUMNS)
    # Every column starts at the same offset on every line.
    assert {line.index("Running") for line in lines[1:2]} == {lines[0].index("PHASE")}
    assert all(line == line.rstrip() for line in lines)


def test_long_messages_are_cut_in_tables() -> None:
    cut = output.shorten("x" * 500)
    assert len(cut) == output.MESSAGE_WIDTH and cut.endswith("…")


def test_json_and_yaml_dump_the_api_shape() -> None:
    task = wire.Task.model_validate(sse.task(startTime=NOW))
    data = output.plain(task)
    assert json.loads(output.dump(data, output.Format.JSON))["startTime"] == "2026-01-01T12:00:00Z"
    assert yaml.safe_load(output.dump(data, output.Format.YAML))["links"]["self"].endswith("/t1")


def test_deadletter_rows_show_the_entry_time() -> None:
    item = wire.DeadLetter(id="1767268800000-0", namespace="ns", name="x", error="boom")
    assert output.deadletter_row(item) == ("2026-01-01 12:00:00", "ns", "x", "boom")
    assert output.stream_time("weird") == "weird"


def test_details_leave_out_unset_fields() -> None:
    task = wire.Task.model_validate(
        sse.task(spec={"command": ["sleep", "5"]}, result={"n": 1}, labels={"team": "a"})
    )
    details = dict(output.task_details(task))
    assert details["Task"] == "sleep 5"
    assert details["Result"] == '{"n": 1}'
    assert details["Labels"] == "team=a"
    assert "Reason" not in details and "Progress" not in details


def event(kind: str, id: str, **data: object) -> TaskEvent:
    return TaskEvent(kind, wire.Event.model_validate({"type": kind, **data}), id)


def test_watched_shows_what_the_follow_knows() -> None:
    state = live.Watched("ns", "t1", started_at=1000.0)
    follow = streams.Resume()
    snapshot = wire.Task.model_validate(sse.task(progress=10, startTime=NOW))
    for shown in (
        TaskEvent("snapshot", wire.Event(type="snapshot"), None, snapshot),
        event("progress", "1-0", progress=55.5, message="chunk 5", attempt=2),
    ):
        accepted = follow.accept(shown)
        assert accepted is not None
        state.apply(accepted)
    assert state.started_at == NOW.timestamp()
    assert (state.phase, state.percent, state.message, state.attempt) == (
        "Running",
        55.5,
        "chunk 5",
        2,
    )
    end = follow.accept(event("end", "2-0", phase="Succeeded", message="attempt 2 succeeded"))
    assert end is not None
    state.apply(end)
    assert state.final and state.finished_at is not None
    assert state.message == "attempt 2 succeeded"  # the latest message, the operator's here


def test_watched_line() -> None:
    known = taskstate.TaskState(progress=40, attempt=1, message="half", latest_message="half")
    state = live.Watched("ns", "t1", known, started_at=0.0)
    state.finished_at = 65.0
    assert state.line() == "ns/t1 Pending 40% attempt 1 1:05  half"


def test_line_view_prints_only_meaningful_changes() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    view = live.LineView(console)
    state = live.Watched("ns", "t1", started_at=0.0)
    for pct in (1, 2, 3, 4, 6, 7, 12):
        state.known = dataclasses.replace(state.known, progress=pct)
        view.show(state)
    state.known = dataclasses.replace(state.known, phase=Phase.SUCCEEDED, progress=100)
    view.close(state)
    lines = console.export_text().splitlines()
    assert [line.split()[2] for line in lines] == ["1%", "6%", "12%", "100%"]
    assert lines[-1].split()[1] == "Succeeded"


def test_line_view_prints_a_line_per_5_points_even_when_every_step_has_a_message() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    view = live.LineView(console)
    state = live.Watched("ns", "t1", started_at=0.0)
    for pct in range(1, 13):
        message = f"counted {pct} of 100"
        state.known = dataclasses.replace(
            state.known, progress=pct, message=message, latest_message=message
        )
        view.show(state)
    # A message while progress stands still is worth a line; a new attempt is too.
    state.known = dataclasses.replace(state.known, latest_message="uploading")
    view.show(state)
    state.known = dataclasses.replace(state.known, attempt=2, latest_message=None)
    view.show(state)
    lines = console.export_text().splitlines()
    assert [line.split()[2] for line in lines] == ["1%", "6%", "11%", "12%", "12%"]
    assert lines[2].endswith("counted 11 of 100") and lines[3].endswith("uploading")
    assert "attempt 2" in lines[4]
