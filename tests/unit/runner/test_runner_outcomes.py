"""How an attempt's end maps to exit codes and final messages (command and Python modes)."""

from __future__ import annotations

import asyncio
import io

import pytest
from longtask.core import resource
from longtask.runner import command, pytask
from longtask.runner.errors import PermanentError, TaskCancelled
from longtask.runner.finalreport import Outcome

EXIT = resource.ExitCode


@pytest.mark.parametrize(
    ("returncode", "terminated", "expected"),
    [
        (0, False, EXIT.SUCCESS),
        (1, False, EXIT.RETRYABLE),
        (3, False, EXIT.PERMANENT),
        (7, False, 7),
        (-15, False, EXIT.TERMINATED),  # killed by SIGTERM from elsewhere
        (-9, False, 137),
        (0, True, EXIT.SUCCESS),  # finished within the grace period
        (1, True, EXIT.TERMINATED),
        (-9, True, EXIT.TERMINATED),
    ],
)
def test_command_exit_codes(returncode: int, terminated: bool, expected: int) -> None:
    assert command.exit_code(returncode, terminated) == expected


@pytest.mark.parametrize(
    ("error", "terminated", "expected"),
    [
        (None, False, EXIT.SUCCESS),
        (None, True, EXIT.SUCCESS),
        (PermanentError("bad"), False, EXIT.PERMANENT),
        (ValueError("x"), False, EXIT.RETRYABLE),
        (TaskCancelled("x"), True, EXIT.TERMINATED),
        (ValueError("x"), True, EXIT.TERMINATED),
        (asyncio.CancelledError(), False, EXIT.TERMINATED),
        (SystemExit(3), False, EXIT.PERMANENT),
        (SystemExit(None), False, EXIT.SUCCESS),
        (SystemExit("message"), False, EXIT.RETRYABLE),
        (SystemExit(0), True, EXIT.TERMINATED),
    ],
)
def test_python_task_exit_codes(
    error: BaseException | None, terminated: bool, expected: int
) -> None:
    assert pytask.classify(error, terminated) == expected


def test_error_summary_is_the_first_line_with_the_type() -> None:
    assert pytask.summary(RuntimeError("disk full\ntraceback noise")) == "RuntimeError: disk full"
    assert pytask.summary(KeyError()) == "KeyError"
    assert len(pytask.summary(ValueError("x" * 5000))) == resource.MESSAGE_MAX_CHARS


def test_a_successful_python_task_ends_at_100_with_its_result() -> None:
    code, outcome = pytask._outcome({"docs": 3}, None, terminated=False)
    assert code == EXIT.SUCCESS
    assert outcome.progress == 100.0 and outcome.result == '{"docs":3}'


def test_sys_exit_in_a_task_sets_the_exit_code() -> None:
    assert pytask._outcome(None, SystemExit(0), terminated=False) == (
        EXIT.SUCCESS,
        Outcome(progress=100.0),
    )
    code, outcome = pytask._outcome(None, SystemExit(3), terminated=False)
    assert code == EXIT.PERMANENT and outcome.message == "SystemExit: 3"


def test_a_result_that_is_not_json_is_a_permanent_failure() -> None:
    code, outcome = pytask._outcome({"when": object()}, None, terminated=False)
    assert code == EXIT.PERMANENT
    assert outcome.message is not None and "JSON" in outcome.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**64, [{"x": float("-inf")}]])
def test_a_python_result_the_api_server_would_change_is_a_permanent_failure(value: object) -> None:
    code, outcome = pytask._outcome(value, None, terminated=False)
    assert code == EXIT.PERMANENT and outcome.result is None
    assert outcome.message is not None and "protocol error" in outcome.message


def output_of(*lines: str) -> command._Output:
    reporter = RecordingLog()
    output = command._Output(reporter)  # type: ignore[arg-type]
    sink = io.StringIO()
    for line in lines:
        output.stdout_line(line, None, sink)
    return output


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, line: str, cut: int | None = None) -> None:
        self.lines.append(line)

    def progress(self, percent: float, message: str) -> None:
        pass


def test_a_command_that_printed_a_bad_result_never_succeeds_without_it() -> None:
    output = output_of("::result NaN")
    code, outcome = command.outcome(EXIT.SUCCESS, output)
    assert code == EXIT.PERMANENT and outcome.result is None
    assert outcome.message == "longtask: protocol error: ::result: result: NaN is not a JSON number"
    assert output.reporter.lines == [  # type: ignore[attr-defined]
        "::result NaN",
        "longtask: protocol error: ::result: result: NaN is not a JSON number",
    ]


def test_a_later_good_result_line_replaces_a_bad_one() -> None:
    code, outcome = command.outcome(EXIT.SUCCESS, output_of("::result {bad", "::result [1]"))
    assert code == EXIT.SUCCESS and outcome.result == "[1]"


def test_a_bad_result_keeps_a_failed_command_s_own_exit_code() -> None:
    code, _ = command.outcome(EXIT.RETRYABLE, output_of("::result NaN"))
    assert code == EXIT.RETRYABLE


def test_a_bad_progress_line_is_logged_and_the_command_still_succeeds() -> None:
    output = output_of("::progress NaN half", "::result 1")
    assert command.outcome(EXIT.SUCCESS, output)[0] == EXIT.SUCCESS
    assert output.reporter.lines[1].startswith("longtask: protocol error: ::progress")  # type: ignore[attr-defined]


def test_loading_finds_nested_attributes() -> None:
    assert pytask.load("os.path:join") is __import__("os").path.join


@pytest.mark.parametrize(
    "spec", ["os.path", "no_such_module_xyz:run", "os.path:no_such_function", "os:sep", ":f"]
)
def test_loading_a_missing_or_uncallable_task_fails_clearly(spec: str) -> None:
    with pytest.raises(pytask.LoadError):
        pytask.load(spec)
