"""Command mode: run an argv as a child process and turn its output into reports.

The child runs in its own session (process group), so that SIGTERM reaches a shell script's
children too and no orphan keeps the output pipes open after the child is gone. Stdout lines go
through the line protocol (`protocol`); everything else is passed through to the pod log and the
task's log stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any, Final, TextIO

from longtask.core import outputs, resource
from longtask.runner import finalreport, outbox, protocol, results
from longtask.runner.finalreport import Outcome
from longtask.runner.reporter import Reporter
from longtask.runner.settings import Settings
from longtask.runner.termination import Termination

log = logging.getLogger(__name__)

READ_CHUNK_BYTES: Final = 64 * 1024
# After the child exits, how long its output may still drain (a grandchild may hold the pipe).
DRAIN_SECONDS: Final = 2.0
# How the runner's own lines about a malformed protocol line start, in the logs.
PROTOCOL_ERROR: Final = "longtask: protocol error"


def exit_code(returncode: int, terminated: bool) -> int:
    """The runner's exit code for a child's return code (negative: killed by that signal)."""
    code = 128 - returncode if returncode < 0 else returncode
    if terminated and code != resource.ExitCode.SUCCESS:
        return resource.ExitCode.TERMINATED
    return code


class _Output:
    """What the child printed that matters for the report."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.result: Any = None
        self.has_result = False
        # Why the last `::result` line could not be the result (it then fails the attempt).
        self.result_error: str | None = None
        self.last_error_line = ""

    def stdout_line(self, line: str, cut: int | None, sink: TextIO) -> None:
        parsed = protocol.parse(line) if cut is None else protocol.parse_cut(line)
        if isinstance(parsed, protocol.Progress):
            self.reporter.progress(parsed.percent, parsed.message[: resource.MESSAGE_MAX_CHARS])
        elif isinstance(parsed, protocol.Result):
            self.result, self.has_result, self.result_error = parsed.value, True, None
        elif isinstance(parsed, protocol.Chunk):
            try:
                self.reporter.output(parsed.value, parsed.is_json)
            except outputs.OutputLimitError as exc:
                parsed = protocol.ProtocolError(line, f"{exc}; nothing output")
        else:
            shown = line if cut is None else line + outbox.cut_marker(len(line), cut)
            sink.write(shown + "\n")
            self.reporter.log(line, cut)
        if isinstance(parsed, protocol.ProtocolError):
            report = f"{PROTOCOL_ERROR}: {parsed.message}"
            log.warning("%s", report)  # the pod log
            self.reporter.log(report)  # the task's log stream
            if parsed.fatal:
                self.result, self.has_result, self.result_error = None, False, parsed.message

    def stderr_line(self, line: str, cut: int | None, sink: TextIO) -> None:
        sink.write((line if cut is None else line + outbox.cut_marker(len(line), cut)) + "\n")
        self.reporter.log(line, cut)
        if line.strip():
            self.last_error_line = line.strip()


async def _pump(stream: asyncio.StreamReader, on_line: Any, sink: TextIO) -> None:
    splitter = protocol.LineSplitter()
    while chunk := await stream.read(READ_CHUNK_BYTES):
        for line, cut in splitter.feed(chunk):
            on_line(line, cut, sink)
        sink.flush()
    for line, cut in splitter.close():
        on_line(line, cut, sink)
    sink.flush()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


async def run(
    argv: tuple[str, ...], settings: Settings, reporter: Reporter, termination: Termination
) -> tuple[int, Outcome]:
    """Runs the command to its end; returns the exit code and the final report."""
    # Commands have no checkpoints: an earlier attempt's output is retracted, a new one starts.
    await asyncio.to_thread(reporter.resume)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        # A missing or non-executable program does not appear by retrying.
        message = f"cannot run {argv[0]!r}: {exc.strerror or exc}"
        return resource.ExitCode.PERMANENT, Outcome(message=message)
    assert proc.stdout is not None and proc.stderr is not None
    output = _Output(reporter)
    pumps = asyncio.gather(
        _pump(proc.stdout, output.stdout_line, sys.stdout),
        _pump(proc.stderr, output.stderr_line, sys.stderr),
    )
    exited = asyncio.ensure_future(proc.wait())
    terminated = asyncio.ensure_future(termination.wait())
    await asyncio.wait({exited, terminated}, return_when=asyncio.FIRST_COMPLETED)
    if not exited.done():
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), settings.grace_seconds)
        except TimeoutError:
            log.warning("the command outlived the grace period; killing it")
            _signal_group(proc.pid, signal.SIGKILL)
            await exited
    terminated.cancel()
    try:
        await asyncio.wait_for(pumps, DRAIN_SECONDS)
    except TimeoutError:
        _signal_group(proc.pid, signal.SIGKILL)  # leftovers of the group holding the pipes
    return outcome(exit_code(exited.result(), termination.requested.is_set()), output)


def outcome(code: int, output: _Output) -> tuple[int, Outcome]:
    """The exit code and final report. A command that exits 0 after a bad `::result` fails
    permanently: it would otherwise succeed without the result it meant to report."""
    if code == resource.ExitCode.SUCCESS:
        error, encoded = output.result_error, None
        if error is None and output.has_result:
            try:
                encoded = results.encode(output.result)
            except results.ResultError as exc:
                error = str(exc)
        if error is not None:
            message = f"{PROTOCOL_ERROR}: {error}"[: resource.MESSAGE_MAX_CHARS]
            return resource.ExitCode.PERMANENT, Outcome(message=message)
        return code, Outcome(progress=100.0, result=encoded)
    if code == resource.ExitCode.TERMINATED:
        return code, Outcome(message=finalreport.TERMINATED_MESSAGE)
    detail = f": {output.last_error_line}" if output.last_error_line else ""
    message = f"the command exited with code {code}{detail}"
    return code, Outcome(message=message[: resource.MESSAGE_MAX_CHARS])
