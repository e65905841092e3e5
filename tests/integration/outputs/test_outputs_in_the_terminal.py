"""The `longtask` command in a real pseudo-terminal (pexpect): `submit --wait --follow-output`
prints the chunks as they arrive, while the task still runs; `longtask output` prints the whole
text."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pexpect
from longtask.cli.exitcodes import Exit
from longtask.client import Client
from longtask_examples import generating

from tests.integration.outputs.conftest import GENERATE

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TOKENS = 400


def test_follow_output_prints_chunks_as_they_arrive_and_output_prints_the_whole_text(
    stack: Any, cli_env: dict[str, str], lt: Client
) -> None:
    args = ["submit", "--wait", "--follow-output", "--name", "story", "--task", GENERATE]
    args += ["-p", f"tokens={TOKENS}", "-p", "rate=100"]
    child = pexpect.spawn(
        str(stack.bin_dir / "longtask"),
        args,
        env=cli_env,
        encoding="utf-8",
        timeout=90,
        dimensions=(30, 160),
    )
    expected = generating.text(1, TOKENS)
    # The first sentence is on the terminal while the task is still writing the rest.
    first_sentence = expected[: expected.index(". ") + 1]
    child.expect_exact(first_sentence)
    task = lt.get("story")
    assert not task.phase.is_final, task
    assert len(lt.output("story").chunks) < TOKENS
    child.expect(pexpect.EOF)
    child.close()
    printed = ANSI.sub("", first_sentence + (child.before or "")).replace("\r\n", "\n")
    assert child.exitstatus == Exit.SUCCESS, printed
    assert expected.rstrip() in printed
    assert "Succeeded" in printed

    whole = subprocess.run(
        [str(stack.bin_dir / "longtask"), "output", "story"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert whole.stdout == expected
