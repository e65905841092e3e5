"""`longtask-runner`: the container command of every attempt's pod.

Reads the runner environment, runs the task (a Python callable or a command), reports through
the background reporter and exits with the contract's code (0, 1, 3 or 143).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
from typing import Final

from longtask.core import resource, runnerenv
from longtask.runner import command, pytask, settings
from longtask.runner.errors import SettingsError
from longtask.runner.finalreport import Outcome
from longtask.runner.reporter import Reporter
from longtask.runner.termination import Termination

log = logging.getLogger("longtask.runner")

FINAL_REPORT_SECONDS: Final = 10.0
# After SIGTERM the kubelet's SIGKILL follows a few seconds after the grace period (the
# operator sets LONGTASK_GRACE_SECONDS 5 s below terminationGracePeriodSeconds).
TERMINATED_REPORT_SECONDS: Final = 3.0


async def _execute(
    cfg: settings.Settings, reporter: Reporter, termination: Termination
) -> tuple[int, Outcome]:
    termination.install()
    if cfg.command is not None:
        return await command.run(cfg.command, cfg, reporter, termination)
    return await pytask.run(cfg, reporter, termination)


USAGE: Final = f"""\
The runner takes no arguments: everything comes from its environment.
  {runnerenv.TASK} (module:function) or {runnerenv.COMMAND} (JSON argv list), exactly one
  {runnerenv.PARAMS}: the task's params, a JSON object (default {{}})
  {runnerenv.NAMESPACE}, {runnerenv.NAME}, {runnerenv.UID}, {runnerenv.ATTEMPT}:
    the LongTask and the attempt; without a namespace and name no status is patched
  {runnerenv.REDIS_URL}: where events, logs and checkpoints go; without it, nowhere
Exit codes: 0 success, 1 retryable failure, 3 non-retryable failure, 143 terminated.
Details: docs/task-authors.md."""


def _parse_args(argv: list[str]) -> None:
    """`--help`; a pod's runner gets no arguments, so argparse is imported only when some are."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="longtask-runner",
        description=(__doc__ or "").split("\n\n", 1)[1].strip(),
        epilog=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)


def main() -> int:
    if len(sys.argv) > 1:
        _parse_args(sys.argv[1:])
    level = os.environ.get(runnerenv.LOG_LEVEL, "INFO").upper()
    logging.basicConfig(
        level=level if level in logging.getLevelNamesMapping() else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        cfg = settings.from_environ(os.environ)
    except SettingsError as exc:
        log.error("%s", exc)
        return resource.ExitCode.PERMANENT
    termination = Termination()
    termination.catch_early()
    reporter = Reporter(cfg)
    reporter.start()
    code, outcome = asyncio.run(_execute(cfg, reporter, termination))
    Termination.ignore_during_final_report()
    budget = TERMINATED_REPORT_SECONDS if termination.requested.is_set() else FINAL_REPORT_SECONDS
    stats = reporter.finish(outcome, budget)
    log.info(
        "attempt %d of %s ended with exit code %d; reporting: %s",
        cfg.attempt,
        cfg.name or cfg.task or "command",
        code,
        json.dumps(dataclasses.asdict(stats)),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
