"""A finished LongTask as a history record (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from longtask.core import events, outputs, resource
from longtask.history import records
from longtask.history.settings import ParamsMode

from tests.fixtures.historyrecords import T0, finished_task


def test_a_record_keeps_identity_status_attempts_and_spec():
    task = finished_task(
        name="embed",
        phase="Succeeded",
        attempts=2,
        labels={"team": "a", resource.LABEL_SCHEDULE: "nightly"},
        queue="gpu",
        params={"documents": 20},
    )
    task["spec"]["cancel"] = False
    task["status"]["result"] = {"ok": True}
    built = records.build(task, [records.LogLine("hello", 2)])
    assert (built.namespace, built.name, built.uid) == ("ns", "embed", task["metadata"]["uid"])
    assert built.phase == "Succeeded" and built.finished_at == T0
    assert built.queue == "gpu" and built.schedule == "nightly"
    assert built.spec == {"command": ["true"], "params": {"documents": 20}, "queue": "gpu"}
    assert built.params_digest == records.digest({"documents": 20})
    assert built.result == {"ok": True} and built.dead_letter is None
    assert [(a.number, a.outcome, a.exit_code) for a in built.attempts] == [
        (1, "Failed", 1),
        (2, "Succeeded", 0),
    ]
    assert built.attempts[0].finished_at == T0 - dt.timedelta(seconds=10)
    assert built.attempt == 2 and built.log_tail == (records.LogLine("hello", 2),)


def test_digest_mode_keeps_only_the_params_digest():
    task = finished_task(params={"secret": "x"})
    built = records.build(task, params=ParamsMode.DIGEST)
    assert "params" not in built.spec
    assert built.params_digest == records.digest({"secret": "x"})
    assert built.params_digest.startswith("sha256:") and len(built.params_digest) == 71
    assert records.digest({"a": 1, "b": 2}) == records.digest({"b": 2, "a": 1})


def test_a_dead_lettered_task_records_its_last_attempt_as_the_dead_letter():
    built = records.build(finished_task(phase="Failed", attempts=3, dead_lettered=True))
    assert built.dead_letter == records.DeadLetter(
        attempts=3, reason="AttemptFailed", error="boom 3", at=T0
    )


def test_an_unfinished_task_has_no_record():
    task = finished_task()
    task["status"]["phase"] = "Running"
    with pytest.raises(ValueError, match="has not finished"):
        records.build(task)


def test_log_lines_from_the_stream_are_bounded():
    line = records.log_line({"line": "x" * 10_000, "attempt": "2"})
    assert len(line.line) == records.LOG_LINE_MAX_CHARS and line.attempt == 2
    assert records.log_line({"line": "y"}).attempt is None


def test_a_record_keeps_the_start_of_a_long_output_cut_at_a_character():
    assembly = outputs.assemble(
        [events.output(1, 0, "héllo "), events.output(1, 1, {"n": 1}, is_json=True)]
    )
    kept = records.output(assembly, max_bytes=2)
    assert kept == records.Output(
        text="h", chunks=2, bytes=len('héllo {"n":1}\n'.encode()), truncated=True
    )
    whole = records.output(assembly, max_bytes=1000)
    assert whole is not None and whole.text == 'héllo {"n":1}\n' and not whole.truncated


def test_no_output_is_kept_when_there_is_none_or_none_is_wanted():
    assert records.output(outputs.Assembly(), 1000) is None
    assert records.output(outputs.assemble([events.output(1, 0, "x")]), 0) is None
