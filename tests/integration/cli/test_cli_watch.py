"""`longtask watch` on a task already under way (pexpect, real stack): it starts from the
task's current state and never shows older progress (no replay of the stream after the
snapshot); in a pipe it prints a line per 5 points of progress, not one per step."""

from __future__ import annotations

import itertools
import re
import subprocess
from typing import Any

import pexpect
from longtask.cli.exitcodes import Exit
from longtask.client import Client

from tests.fixtures.waiting import wait_for
from tests.integration.cli.conftest import progress_command

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def progress_of(lt: Client, name: str) -> float:
    """The task's progress as a tail snapshot shows it (what `watch` starts from)."""
    snapshot = next(iter(lt.events(name, tail=True)))  # the generator closes when dropped
    return snapshot.progress or 0.0


def test_watch_mid_way_never_goes_back(stack: Any, cli_env: dict[str, str], lt: Client) -> None:
    lt.submit(command=progress_command(steps=100, pause=0.1), name="mid-way")
    # Under way: a tail snapshot (what `watch` starts from) shows progress already made.
    wait_for(lambda: progress_of(lt, "mid-way") >= 20, 60, "20 % done")
    child = pexpect.spawn(
        str(stack.bin_dir / "longtask"),
        ["watch", "mid-way"],
        env=cli_env,
        encoding="utf-8",
        timeout=90,
        dimensions=(30, 160),
    )
    seen = []
    while child.expect([r"(\d+)%", pexpect.EOF]) == 0:
        seen.append(int(child.match.group(1)))
    child.close()
    assert child.exitstatus == Exit.SUCCESS, ANSI.sub("", child.before or "")
    assert seen[0] >= 20, seen  # the first frame is the current state, not the start
    assert seen == sorted(seen), seen  # and nothing older is ever drawn again
    assert seen[-1] == 100


def test_watch_in_a_pipe_prints_a_line_per_5_points(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    # Every step reports progress and its own message: one line each would be 50 lines.
    lt.submit(command=progress_command(steps=50, pause=0.05), name="piped-watch")
    done = subprocess.run(
        [str(stack.bin_dir / "longtask"), "watch", "piped-watch"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == Exit.SUCCESS, done.stderr
    lines = [line for line in done.stdout.splitlines() if " Running " in line]
    percents = [int(line.split()[2].rstrip("%")) for line in lines]
    assert percents == sorted(percents), lines
    steps = [b - a for a, b in itertools.pairwise(percents)]
    assert all(step >= 5 for step in steps), lines
    assert len(lines) <= 100 // 5 + 2, lines
