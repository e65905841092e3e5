"""The `longtask` commands against an in-process fake gateway (typer's CliRunner, no pty):
the bodies they send, their output formats and their exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import typer
from longtask.cli import commands
from longtask.cli.exitcodes import Exit
from longtask.client import Client
from typer.testing import CliRunner

from tests.unit.cli import sse

Handler = Callable[[httpx.Request], httpx.Response]
runner = CliRunner()


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Callable[[Handler], list[httpx.Request]]:
    """Route the CLI's client to `handler`; returns the list of requests it sees."""

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        def make(*args: Any, **kwargs: Any) -> Client:
            return Client(*args, transport=httpx.MockTransport(recording), **kwargs)

        monkeypatch.setattr(commands, "Client", make)
        return seen

    monkeypatch.delenv("LONGTASK_NAMESPACE", raising=False)
    return install


def ended(phase: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json=sse.task(phase="Pending"))
        if request.url.path.endswith("/events"):
            body = (
                sse.snapshot(phase="Pending")
                + sse.progress("1-0", 50, "half")
                + sse.end("2-0", phase)
            )
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        return httpx.Response(200, json=sse.task(phase=phase, message="the end", result={"n": 1}))

    return handler


def test_submit_a_command_with_params_and_labels(gateway: Any) -> None:
    seen = gateway(ended("Succeeded"))
    result = runner.invoke(
        commands.app,
        ["submit", "-n", "team", "-p", "n=3", "-p", "tag=x", "-l", "a=b", "--max-attempts", "2",
         "--timeout", "60", "--", "python", "-c", "print(1)"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Submitted ns/t1." in result.stdout
    assert seen[0].url.path == "/v1/namespaces/team/tasks"
    body = json.loads(seen[0].content)
    assert body["command"] == ["python", "-c", "print(1)"]
    assert body["params"] == {"n": 3, "tag": "x"}
    assert body["labels"] == {"a": "b"}
    assert body["retry"] == {"maxAttempts": 2}
    assert body["timeoutSeconds"] == 60


def test_submit_a_python_task_prints_json(gateway: Any) -> None:
    seen = gateway(ended("Succeeded"))
    result = runner.invoke(commands.app, ["submit", "-t", "pkg.mod:fn", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "t1"
    assert json.loads(seen[0].content)["task"] == "pkg.mod:fn"


@pytest.mark.parametrize(
    "args", [["submit"], ["submit", "-t", "m:f", "--", "ls"], ["submit", "-p", "x", "--", "ls"]]
)
def test_submit_usage_errors_exit_2_before_any_request(gateway: Any, args: list[str]) -> None:
    seen = gateway(ended("Succeeded"))
    result = runner.invoke(commands.app, args)
    assert result.exit_code == Exit.USAGE
    assert seen == []


@pytest.mark.parametrize(
    ("phase", "code"),
    [("Succeeded", Exit.SUCCESS), ("Failed", Exit.FAILED), ("Cancelled", Exit.CANCELLED)],
)
def test_submit_wait_exits_with_the_outcome(gateway: Any, phase: str, code: Exit) -> None:
    gateway(ended(phase))
    result = runner.invoke(commands.app, ["submit", "--wait", "--", "true"])
    assert result.exit_code == code, result.output
    lines = result.stdout.splitlines()
    # Not a terminal: plain progress lines, then the summary.
    assert any("50%" in line and "half" in line for line in lines)
    assert phase in lines[-1]


def test_watch_json_prints_the_final_task(gateway: Any) -> None:
    gateway(ended("Failed"))
    result = runner.invoke(commands.app, ["watch", "t1", "-o", "json"])
    assert result.exit_code == Exit.FAILED
    assert json.loads(result.stdout)["phase"] == "Failed"


def test_list_as_table_and_json(gateway: Any) -> None:
    page = {"items": [sse.task(name="a", progress=10), sse.task(name="b")], "continue": None}
    gateway(lambda request: httpx.Response(200, json=page))
    table = runner.invoke(commands.app, ["list"])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "PHASE", "PROGRESS", "ATTEMPT", "MESSAGE", "AGE"]
    assert lines[1].split()[:3] == ["a", "Running", "10%"]
    as_json = runner.invoke(commands.app, ["list", "-o", "json"])
    assert [t["name"] for t in json.loads(as_json.stdout)] == ["a", "b"]


def test_get_of_a_missing_task_exits_1_with_the_gateway_message(gateway: Any) -> None:
    gateway(lambda r: httpx.Response(404, json={"error": "not_found", "message": "no task x"}))
    result = runner.invoke(commands.app, ["get", "x"])
    assert result.exit_code == Exit.ERROR
    assert "no task x" in result.stderr
    assert result.stdout == ""


def test_unauthorized_hints_at_the_token(gateway: Any) -> None:
    gateway(lambda r: httpx.Response(401, json={"error": "unauthorized", "message": "bad token"}))
    result = runner.invoke(commands.app, ["list"])
    assert result.exit_code == Exit.ERROR
    assert "LONGTASK_TOKEN" in result.stderr


def test_logs_print_raw_lines(gateway: Any) -> None:
    pages = {None: {"items": [{"id": "1-0", "line": "hello"}], "next": "1-0"}}
    gateway(
        lambda r: httpx.Response(
            200, json=pages.get(r.url.params.get("after"), {"items": [], "next": None})
        )
    )
    result = runner.invoke(commands.app, ["logs", "t1"])
    assert result.exit_code == 0
    assert result.stdout == "hello\n"


def test_task_names_complete_from_the_gateway(gateway: Any) -> None:
    page = {"items": [sse.task(name="alpha"), sse.task(name="beta")], "continue": None}
    gateway(lambda request: httpx.Response(200, json=page))
    ctx = typer.Context(typer.main.get_command(commands.app), obj=commands.Connection())
    assert commands._complete_names(ctx, "al") == ["alpha"]


def test_name_completion_is_silent_when_the_gateway_is_away(gateway: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    gateway(refuse)
    ctx = typer.Context(typer.main.get_command(commands.app), obj=commands.Connection())
    assert commands._complete_names(ctx, "") == []
