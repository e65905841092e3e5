"""The `longtask` command: thin typer commands over the client, `params`, `output` and `live`.

Every command finds the gateway the client's way (flags, then LONGTASK_GATEWAY_URL and
LONGTASK_TOKEN, then `.longtask/env`), prints people-friendly text on a terminal, plain text in
a pipe, and JSON or YAML with `--output`. Errors go to stderr with a non-zero exit code (see
`exitcodes`); following a task (`watch`, `submit --wait`) exits with the task's outcome.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from longtask.cli import live, output, params, times
from longtask.cli.exitcodes import Exit
from longtask.client import Client, OutputChunk, Retraction, TaskEvent, calls, errors
from longtask.core import events, wire
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

# What the gateway answers: a resource, or a list of them.
M = TypeVar("M", bound=BaseModel | Sequence[BaseModel])

# The gateway's error code for a cancel of a task that already finished.
FINISHED = "finished"

app = typer.Typer(
    name="longtask",
    help="Submit, follow and control longtask tasks through the gateway.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class Connection:
    """The global flags: where the gateway is and the token (None: discovered)."""

    gateway: str | None = None
    token: str | None = None

    def client(self, namespace: str | None) -> Client:
        return Client(self.gateway, self.token, namespace=namespace)


def _connection(ctx: typer.Context) -> Connection:
    obj = ctx.find_object(Connection)
    return obj if obj is not None else Connection()


def _complete_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of task names (nothing when the gateway cannot be asked)."""
    namespace = ctx.params.get("namespace")
    try:
        with _connection(ctx).client(namespace) as lt:
            return [t.name for t in lt.list_page(limit=500).items if t.name.startswith(incomplete)]
    except (errors.LongtaskError, ValueError):
        return []


Namespace = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        help="Namespace of the task (default: $LONGTASK_NAMESPACE, else default).",
        show_default=False,
    ),
]
Output = Annotated[
    output.Format,
    typer.Option("--output", "-o", help="text for people, json or yaml for scripts."),
]
TaskName = Annotated[
    str, typer.Argument(help="The task's name.", autocompletion=_complete_names, show_default=False)
]
WaitTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--wait-timeout", help="Stop following after this many seconds (the task keeps running)."
    ),
]
FollowOutput = Annotated[
    bool,
    typer.Option(
        "--follow-output",
        help="Print the task's output (ctx.output, ::output) as it is written, instead of the bar.",
    ),
]


@app.callback()
def main(
    ctx: typer.Context,
    gateway: Annotated[
        str | None,
        typer.Option(
            "--gateway",
            "-g",
            help="Gateway URL (default: $LONGTASK_GATEWAY_URL, else .longtask/env).",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Bearer token (default: $LONGTASK_TOKEN, else .longtask/env).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Submit, follow and control longtask tasks through the gateway."""
    ctx.obj = Connection(gateway, token)


# ---- helpers ----------------------------------------------------------------------------------


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: Exit = Exit.ERROR) -> NoReturn:
    _stderr().print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(int(code))


def _api_message(exc: errors.ApiError) -> str:
    details = exc.details if isinstance(exc.details, list) else []
    extra = [str(d.get("message")) for d in details[1:] if isinstance(d, dict)]
    return "; ".join([exc.message, *extra])


def _report(exc: errors.LongtaskError) -> NoReturn:
    """A client error as one stderr line and exit code 1."""
    if isinstance(exc, errors.Unauthorized):
        _fail(f"{exc.message} (pass --token or set LONGTASK_TOKEN)")
    if isinstance(exc, errors.ApiError):
        _fail(_api_message(exc))
    if isinstance(exc, errors.GatewayUnreachable):
        _fail(f"{exc}; is the gateway running? (`make up` starts one)")
    _fail(str(exc))


@contextlib.contextmanager
def _reporting() -> Iterator[None]:
    try:
        yield
    except errors.LongtaskError as exc:
        _report(exc)


def _emit(data: Any, fmt: output.Format) -> None:
    print(output.dump(data, fmt))


def _answer(
    ctx: typer.Context,
    namespace: str | None,
    fmt: output.Format,
    ask: Callable[[Client], M],
    show: Callable[[M], None],
) -> None:
    """Ask the gateway (`ask`, with a client of `namespace`) and print its answer: as `show`
    prints it for text, else as `fmt`."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        item = ask(lt)
    if fmt is not output.Format.TEXT:
        _emit(output.plain(item), fmt)
    else:
        show(item)


def _rows(
    headers: Sequence[str], row: Callable[[Any], tuple[str, ...]], none: str
) -> Callable[[Sequence[Any]], None]:
    """A printer of a list: a table of `headers` with a `row` per item, or `none` on stderr."""

    def show(items: Sequence[Any]) -> None:
        if items:
            _table(headers, [row(item) for item in items])
        else:
            _stderr().print(none, markup=False)

    return show


def _details(pairs: list[tuple[str, str]]) -> None:
    """`Key: value` lines, the values aligned."""
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        print(f"{key + ':':<{width + 1}} {value}")


def _table(headers: Sequence[str], rows: list[tuple[str, ...]]) -> None:
    console = _stdout()
    if console.is_terminal:
        console.print(output.rich_table(headers, rows))
    else:
        print(output.plain_table(headers, rows))


# ---- following ------------------------------------------------------------------------------

GAP = events.SseEvent.GAP.value


def gap_notice(event: TaskEvent, what: str) -> str:
    """What the user is told when a follow skipped trimmed entries."""
    extra = event.data.model_extra or {}
    skipped = extra.get("skipped")
    count = f"{skipped} earlier {what}" if isinstance(skipped, int) else f"some earlier {what}"
    return f"note: {count} of this task were trimmed from Redis before they could be shown"


def retraction_notice(change: Retraction) -> str:
    """What the user is told when a new attempt withdraws printed output."""
    if not change.resumed:
        return (
            f"\n[longtask: attempt {change.attempt} starts a new output; "
            f"the {change.count} chunks above are withdrawn]"
        )
    return (
        f"\n[longtask: attempt {change.attempt} resumes from its checkpoint at chunk "
        f"{change.seq}; the last {change.count} chunks above are withdrawn]"
    )


def _print_output(lt: Client, name: str, deadline: float | None) -> None:
    """Print the task's output as it is written (chunks to stdout, notices to stderr)."""
    remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
    for change in lt.outputs(name, timeout=remaining):
        if isinstance(change, OutputChunk):
            sys.stdout.write(change.text())
            sys.stdout.flush()
        elif change.count:
            _stderr().print(retraction_notice(change), markup=False)


def _follow(
    lt: Client,
    name: str,
    fmt: output.Format,
    wait_timeout: float | None,
    follow_output: bool = False,
) -> NoReturn:
    """Follow a task to its end with the live view (or, with `follow_output`, its output
    printed as it comes instead of the bar); exit with its outcome."""
    if follow_output:
        _follow_output(lt, name, fmt, wait_timeout)
    namespace = lt.config.namespace
    state = live.Watched(namespace, name)
    console = _stdout()
    view: live.View | None = None

    def on_event(event: TaskEvent) -> None:
        nonlocal view
        if event.type == GAP:
            _stderr().print(gap_notice(event, "events"), markup=False)
        state.apply(event)
        if view is None and fmt is output.Format.TEXT:
            # Opened on the first event (the task's current state): an empty bar first would
            # be a 0 % that the task is long past.
            view = live.open_view(console, state)
        if view is not None:
            view.show(state)

    error: errors.LongtaskError | None = None
    try:
        task, code = _outcome(lt, name, on_event, wait_timeout)
    except errors.LongtaskError as exc:
        task, code, error = None, Exit.ERROR, exc
    if view is not None:
        view.close(state)
    if error is not None:
        _report(error)
    if code is Exit.INTERRUPTED:
        _stderr().print(
            f"\nStopped watching; task {namespace}/{name} keeps running. "
            f"Follow it again with `longtask watch {name} -n {namespace}`, "
            f"stop it with `longtask cancel {name} -n {namespace}`.",
            markup=False,
        )
    elif code is Exit.TIMEOUT:
        _stderr().print(
            f"Stopped watching after {wait_timeout} s; task {namespace}/{name} keeps running.",
            markup=False,
        )
    elif task is not None and fmt is not output.Format.TEXT:
        _emit(output.plain(task), fmt)
    elif task is not None:
        _summary(console, task, state)
    raise typer.Exit(int(code))


def _follow_output(
    lt: Client, name: str, fmt: output.Format, wait_timeout: float | None
) -> NoReturn:
    namespace = lt.config.namespace
    deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
    state = live.Watched(namespace, name)
    try:
        with _interrupts():
            _print_output(lt, name, deadline)
    except KeyboardInterrupt:
        _stderr().print(
            f"\nStopped following; task {namespace}/{name} keeps running.", markup=False
        )
        raise typer.Exit(int(Exit.INTERRUPTED)) from None
    except errors.WaitTimeout:
        _stderr().print(
            f"\nStopped following after {wait_timeout} s; task {namespace}/{name} keeps running.",
            markup=False,
        )
        raise typer.Exit(int(Exit.TIMEOUT)) from None
    except errors.LongtaskError as exc:
        _report(exc)
    # The output ended with the task: its outcome is a snapshot and an end away.
    task, code = _outcome(lt, name, state.apply, None if deadline is None else 30.0)
    sys.stdout.write("\n")
    if task is not None and fmt is not output.Format.TEXT:
        _emit(output.plain(task), fmt)
    elif task is not None:
        _summary(_stderr(), task, state)
    raise typer.Exit(int(code))


@contextlib.contextmanager
def _interrupts() -> Iterator[threading.Event]:
    """Ctrl-C as a flag as well as a KeyboardInterrupt. A KeyboardInterrupt raised while Python
    finalizes a generator (a dropped stream being closed) is printed and swallowed, and the watch
    went on to the task's end; the flag makes the next event, or the end, stop it."""
    pressed = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        pressed.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _outcome(
    lt: Client, name: str, on_event: Callable[[TaskEvent], None], wait_timeout: float | None
) -> tuple[wire.Task | None, Exit]:
    """The final task and the exit code of its outcome (no task: not waited to the end)."""
    with _interrupts() as pressed:

        def guarded(event: TaskEvent) -> None:
            if pressed.is_set():
                raise KeyboardInterrupt
            on_event(event)

        try:
            task = lt.wait(name, on_progress=guarded, timeout=wait_timeout)
        except errors.TaskFailed as exc:
            return exc.task, Exit.FAILED
        except errors.TaskCancelled as exc:
            return exc.task, Exit.CANCELLED
        except errors.WaitTimeout:
            return None, Exit.TIMEOUT
        except KeyboardInterrupt:
            return None, Exit.INTERRUPTED
        return (None, Exit.INTERRUPTED) if pressed.is_set() else (task, Exit.SUCCESS)


def _summary(console: Console, task: wire.Task, state: live.Watched) -> None:
    took = output.duration(state.elapsed())
    if task.phase == "Succeeded":
        line = f"[green]✔[/] {task.namespace}/{task.name} Succeeded in {took}"
        if task.result is not None:
            line += f" — result: {output.shorten(json.dumps(task.result), 200)}"
        elif task.result_ref:
            line += f" — a large result: `longtask result {task.name} -n {task.namespace}`"
    else:
        reason = f" ({task.reason})" if task.reason else ""
        line = f"[red]✘[/] {task.namespace}/{task.name} {task.phase}{reason} after {took}"
        if task.message:
            line += f": {output.shorten(task.message, 200)}"
    console.print(line, markup=True, highlight=False)


# ---- commands ---------------------------------------------------------------------------------


@app.command(context_settings={"allow_interspersed_args": False})
def submit(
    ctx: typer.Context,
    command: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="COMMAND",
            help="The command and its arguments, after `--`.",
            show_default=False,
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", "-t", help="A Python task, module:function.", show_default=False),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=VALUE",
            help="A param; the value is JSON when it parses, else a string.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="A LongTask YAML file (flags override its fields).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The task's name.")] = None,
    generate_name: Annotated[
        str | None, typer.Option("--generate-name", help="Prefix of a generated name.")
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", metavar="KEY=VALUE", help="A label (repeatable)."),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", metavar="NAME=VALUE", help="An environment variable."),
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Attempts before it fails.")
    ] = None,
    timeout: Annotated[
        int | None, typer.Option("--timeout", min=1, help="Seconds each attempt may run.")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", help="The runner image.")] = None,
    queue: Annotated[
        str | None,
        typer.Option("--queue", help="The LongTaskQueue that admits it (none: starts at once)."),
    ] = None,
    priority: Annotated[
        int | None,
        typer.Option(
            "--priority", min=-1000, max=1000, help="Order in its queue: higher goes first."
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Submitting again with this key is a no-op."),
    ] = None,
    namespace: Namespace = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow the task with a live bar until it ends.")
    ] = False,
    follow_output: FollowOutput = False,
    wait_timeout: WaitTimeoutOpt = None,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Submit a task: `longtask submit -- COMMAND ARGS…`, `--task module:function`, or `-f FILE`.

    With --wait, follow it and exit 0 only if it succeeds (3: failed, 4: cancelled); with
    --follow-output too, print its output as it is written instead of the bar."""
    if follow_output and not wait:
        raise typer.BadParameter("--follow-output goes with --wait")
    if command and task:
        raise typer.BadParameter("give either a command (after --) or --task, not both")
    try:
        base = params.load_file(file) if file is not None else {}
        overrides: dict[str, Any] = {
            "command": list(command) if command else None,
            "task": task,
            "params": params.parse_params(param or []),
            "name": name,
            "generateName": generate_name,
            "labels": params.parse_labels(label or []),
            "env": [{"name": k, "value": v} for k, v in params.parse_labels(env or []).items()],
            "retry": {"maxAttempts": max_attempts} if max_attempts is not None else None,
            "timeoutSeconds": timeout,
            "image": image,
            "queue": queue,
            "priority": priority,
        }
        if command or task:
            # The command line's program replaces the file's (they are exclusive in the spec).
            base = {k: v for k, v in base.items() if k not in ("command", "task")}
        body = params.build(base, overrides)
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from None
    with _reporting(), _connection(ctx).client(namespace) as lt:
        created = lt.submit(body, idempotency_key=idempotency_key)
        if wait:
            _follow(lt, created.name, fmt, wait_timeout, follow_output)
    if fmt is not output.Format.TEXT:
        _emit(output.plain(created), fmt)
        return
    print(f"Submitted {created.namespace}/{created.name}.")
    _stderr().print(
        f"Follow it with `longtask watch {created.name} -n {created.namespace}`.", markup=False
    )


@app.command()
def watch(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    follow_output: FollowOutput = False,
    wait_timeout: WaitTimeoutOpt = None,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Follow a task with a live bar until it ends; Ctrl-C stops watching, not the task.

    Exits 0 if it succeeded, 3 if it failed, 4 if it was cancelled."""
    with _connection(ctx).client(namespace) as lt:
        _follow(lt, name, fmt, wait_timeout, follow_output)


@app.command()
def get(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Show one task."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        task = lt.get(name)
    if fmt is not output.Format.TEXT:
        _emit(output.plain(task), fmt)
        return
    console = _stdout()
    details = output.task_details(task)
    if console.is_terminal:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for key, value in details:
            grid.add_row(key, value)
        console.print(grid)
    else:
        for key, value in details:
            print(f"{key}: {value}")
    if task.attempts:
        print()
        _table(output.ATTEMPT_COLUMNS, output.attempts_rows(task.attempts))


@app.command("list")
def list_tasks(
    ctx: typer.Context,
    namespace: Namespace = None,
    phase: Annotated[
        str | None, typer.Option("--phase", help="Only tasks in this phase.", show_default=False)
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="Label selector, e.g. team=a.", show_default=False),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Show at most this many tasks.")
    ] = None,
    fmt: Output = output.Format.TEXT,
) -> None:
    """List tasks: name, phase, progress, attempt, message, age."""

    def ask(lt: Client) -> list[wire.Task]:
        tasks: list[wire.Task] = []
        for task in lt.list(phase=phase, label_selector=selector):
            tasks.append(task)
            if limit is not None and len(tasks) >= limit:
                break
        return tasks

    _answer(
        ctx, namespace, fmt, ask, _rows(output.TASK_COLUMNS, output.task_row, "No tasks found.")
    )


@app.command()
def cancel(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) when the task already finished.")
    ] = False,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Request cancellation of a task (its running attempt is stopped).

    A task that already finished is left as it is: that is said, and the exit code is 0
    (1 with --strict)."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        try:
            task = lt.cancel(name)
            requested = True
        except errors.Conflict as exc:
            if strict or exc.error != FINISHED:
                raise
            task, requested = lt.get(name), False
    if fmt is not output.Format.TEXT:
        _emit(output.plain(task), fmt)
    elif requested:
        print(f"Cancellation of {task.namespace}/{task.name} requested.")
    else:
        print(f"{task.namespace}/{task.name} already finished ({task.phase}): nothing to cancel.")


@app.command()
def retry(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow the new task.")] = False,
    wait_timeout: WaitTimeoutOpt = None,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Re-run a failed, dead-lettered or cancelled task as a new task."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        task = lt.retry(name)
        if wait:
            _follow(lt, task.name, fmt, wait_timeout)
    if fmt is not output.Format.TEXT:
        _emit(output.plain(task), fmt)
    else:
        print(f"Retrying {task.namespace}/{name} as {task.namespace}/{task.name}.")


@app.command()
def delete(ctx: typer.Context, name: TaskName, namespace: Namespace = None) -> None:
    """Delete a task (a running attempt is stopped)."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        lt.delete(name)
        print(f"Deleted {lt.config.namespace}/{name}.")


@app.command()
def logs(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the task ends.")
    ] = False,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Print a task's output lines (kept after its pods are gone)."""
    try:
        with _reporting(), _connection(ctx).client(namespace) as lt:
            for line in lt.logs(name, follow=follow):
                if line.gap is not None and fmt is output.Format.TEXT:
                    _stderr().print(line.line, markup=False)
                elif fmt is output.Format.TEXT:
                    print(line.line, flush=follow)
                elif fmt is output.Format.JSON:
                    print(json.dumps(output.plain(line)), flush=follow)
                else:
                    print("---\n" + output.dump(output.plain(line), fmt), flush=follow)
    except KeyboardInterrupt:
        raise typer.Exit(int(Exit.INTERRUPTED)) from None


@app.command("output")
def show_output(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing the output until the task ends."),
    ] = False,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Print a task's output so far (what it wrote with ctx.output or ::output lines).

    Text chunks are printed as they are, JSON chunks one per line; -o json prints the chunks.
    Chunks of a failed attempt after its last checkpoint are left out (they were retracted)."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        if follow:
            try:
                _print_output(lt, name, None)
            except KeyboardInterrupt:
                raise typer.Exit(int(Exit.INTERRUPTED)) from None
            return
        found = lt.output(name)
    if fmt is output.Format.TEXT:
        sys.stdout.write(found.text())
        sys.stdout.flush()
    else:
        _emit(output.plain(found), fmt)


@app.command()
def result(
    ctx: typer.Context,
    name: TaskName,
    namespace: Namespace = None,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Print a task's result, as JSON unless -o yaml (any size: a large one is read from Redis).

    Exits 1 when the task has no result (yet), or its large result expired."""
    with _reporting(), _connection(ctx).client(namespace) as lt:
        value = lt.result(name)
    _emit(value, output.Format.YAML if fmt is output.Format.YAML else output.Format.JSON)


@app.command()
def deadletters(
    ctx: typer.Context,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Only this namespace (default: all)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 50,
    fmt: Output = output.Format.TEXT,
) -> None:
    """List dead-lettered tasks (attempts exhausted), newest first."""
    with _reporting(), _connection(ctx).client(None) as lt:
        items: list[wire.DeadLetter] = []
        for item in lt.deadletters(namespace=namespace, page_size=min(limit, 500)):
            items.append(item)
            if len(items) >= limit:
                break
    if fmt is not output.Format.TEXT:
        _emit(output.plain(items), fmt)
    elif not items:
        _stderr().print("No dead letters.", markup=False)
    else:
        _table(output.DEADLETTER_COLUMNS, [output.deadletter_row(d) for d in items])


@app.command()
def history(
    ctx: typer.Context,
    uid: Annotated[
        str | None,
        typer.Argument(
            help="One task's UID: show it whole (attempts, log tail).", show_default=False
        ),
    ] = None,
    namespace: Namespace = None,
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", help="Only this phase (repeatable).", show_default=False),
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed tasks.")] = False,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="Label selector, e.g. team=a.", show_default=False),
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Names starting with this.", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Finished since: 24h, 7d, or a date/time.", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Finished before: 1h, or a date/time.", show_default=False),
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", help="Only from this queue.", show_default=False)
    ] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Only from this schedule.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 50,
    fmt: Output = output.Format.TEXT,
) -> None:
    """Finished tasks kept in the history after Kubernetes deleted them, newest first; with a
    UID, that one task with its attempts and the tail of its log."""
    filters = calls.HistoryFilters(phases=[*(phase or []), *(["Failed"] if failed else [])])
    if selector:
        filters["label_selector"] = selector
    if prefix:
        filters["name_prefix"] = prefix
    if queue:
        filters["queue"] = queue
    if schedule:
        filters["schedule"] = schedule
    if since:
        filters["since"] = _moment(since, "--since")
    if until:
        filters["until"] = _moment(until, "--until")
    with _reporting(), _connection(ctx).client(namespace) as lt:
        if uid is not None:
            _show_record(lt.history_record(uid), fmt)
            return
        items: list[wire.HistoryTask] = []
        for item in lt.history(page_size=min(limit, 500), **filters):
            items.append(item)
            if len(items) >= limit:
                break
    if fmt is not output.Format.TEXT:
        _emit(output.plain(items), fmt)
    elif not items:
        _stderr().print("No finished tasks found.", markup=False)
    else:
        _table(output.HISTORY_COLUMNS, [output.history_row(t) for t in items])


def _moment(text: str, option: str) -> datetime:
    try:
        return times.moment(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _show_record(record: wire.HistoryRecord, fmt: output.Format) -> None:
    if fmt is not output.Format.TEXT:
        _emit(output.plain(record), fmt)
        return
    for key, value in output.history_details(record):
        print(f"{key}: {value}")
    if record.attempts:
        print()
        _table(output.ATTEMPT_COLUMNS, output.attempts_rows(record.attempts))
    if record.log_tail:
        print(f"\nLast {len(record.log_tail)} log lines:")
        for line in output.log_tail_lines(record):
            print(line)
    if record.output is not None:
        cut = " (its start)" if record.output.truncated else ""
        print(f"\nOutput{cut}, {record.output.chunks} chunks, {record.output.bytes:,} bytes:")
        print(record.output.text)
