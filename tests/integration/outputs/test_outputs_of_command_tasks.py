"""A command task's `::output` and `::output-json` lines become output events; a malformed
`::output-json` line is reported in the task's log and does not fail it."""

from __future__ import annotations

from longtask.client import Client
from longtask.core import resource

SCRIPT = r"""
echo '::output Hello'
echo '::output  world'
echo 'an ordinary line'
echo '::output-json {"doc": 1, "summary": "first"}'
echo '::output-json {not json'
printf '%s\n' '::output-json "\n"'
echo '::result {"ok": true}'
"""


def test_output_lines_are_output_events_and_a_malformed_one_is_reported_not_fatal(
    lt: Client,
) -> None:
    task = lt.submit({"command": ["sh", "-c", SCRIPT]})
    events = list(lt.events(task.name))
    final = lt.wait(task.name, timeout=60)

    assert final.phase == resource.Phase.SUCCEEDED
    assert final.result == {"ok": True}
    outputs = [e.data.model_extra or {} for e in events if e.type == "output"]
    assert [(o["seq"], o["chunk"], o.get("json", False)) for o in outputs] == [
        (0, "Hello", False),
        (1, " world", False),
        (2, {"doc": 1, "summary": "first"}, True),
        (3, "\n", True),
    ]
    assert lt.output(task.name).text() == 'Hello world{"doc":1,"summary":"first"}\n"\\n"\n'
    lines = [line.line for line in lt.logs(task.name)]
    assert "an ordinary line" in lines
    [report] = [line for line in lines if "::output-json needs one JSON value" in line]
    assert report.startswith("longtask: protocol error:") and "nothing output" in report
