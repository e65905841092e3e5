"""The `longtask` command-line tool: submit, follow and control tasks through the gateway.

`commands` holds the typer app and `schedulecmds` its `schedule` sub-app, thin over pure
modules: `params` (command-line words to a submit body), `output` (tables, JSON, YAML), `live`
(the progress bar and its plain-text fallback) and `exitcodes`. The console script is `launch`,
which imports `commands` only once it knows the client extra is installed; nothing is imported
here for the same reason.
"""
