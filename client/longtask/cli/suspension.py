"""The `suspend` and `resume` commands of a resource that has spec.suspend (queues, schedules).

Both ask the gateway to set spec.suspend and print the resource (`commands._answer`); the
sub-apps add them with `add_commands`, by the resource's plural.

No `from __future__ import annotations` here: typer reads the commands' annotations, and those
of a function made in `add_commands` name its arguments, which only evaluated annotations see.
"""

from collections.abc import Callable
from typing import Annotated, Any, Final

import typer
from longtask.cli import commands, output
from longtask.client import Client
from typer.models import ArgumentInfo

Ask = Callable[[Client, str], Any]
# What each plural's commands call on the client: (suspend, resume).
CALLS: Final[dict[str, tuple[Ask, Ask]]] = {
    "queues": (Client.suspend_queue, Client.resume_queue),
    "schedules": (Client.suspend, Client.resume),
}


def add_commands(
    app: typer.Typer,
    plural: str,
    *,
    name: ArgumentInfo,
    helps: tuple[str, str],
    resumed: Callable[[Any], str],
) -> None:
    """`suspend` and `resume` on `app` for the resource `plural` (a key of CALLS), with `helps`
    (suspend's, resume's); `name` is the name argument; `resumed` says what follows a resume."""
    noun = plural.removesuffix("s").capitalize()
    for suspended, help_text in zip((True, False), helps, strict=True):

        def said(item: Any, suspended: bool = suspended) -> str:
            where = f"{noun} {item.namespace}/{item.name}"
            return f"{where} suspended." if suspended else f"{where} resumed ({resumed(item)})."

        ask = CALLS[plural][0 if suspended else 1]
        command = _command(name, ask, said)
        app.command("suspend" if suspended else "resume", help=help_text)(command)


def _command(argument: ArgumentInfo, ask: Ask, said: Callable[[Any], str]) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        name: Annotated[str, argument],
        namespace: commands.Namespace = None,
        fmt: commands.Output = output.Format.TEXT,
    ) -> None:
        commands._answer(ctx, namespace, fmt, lambda lt: ask(lt, name), lambda i: print(said(i)))

    return command
