"""The `longtask` command-line tool: submit, follow and control tasks through the gateway.

`commands` holds the typer app (the console script's `app`), thin over pure modules: `params`
(command-line words to a submit body), `output` (tables, JSON, YAML), `live` (the progress bar
and its plain-text fallback) and `exitcodes`.
"""

from longtask.cli.commands import app

__all__ = ["app"]
