"""SIGTERM as shared state: seen by a task's thread and by the runner's loop, even when early."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest
from longtask.runner.termination import SIGNALS, Termination


@pytest.fixture(autouse=True)
def restore_signal_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_sigterm_before_the_loop_runs_reaches_the_loop() -> None:
    termination = Termination()
    termination.catch_early()
    os.kill(os.getpid(), signal.SIGTERM)
    assert termination.requested.is_set()

    async def loop_sees_it() -> None:
        termination.install()
        await asyncio.wait_for(termination.wait(), timeout=5)

    asyncio.run(loop_sees_it())


def test_a_sigterm_while_the_loop_runs_sets_both_flags() -> None:
    termination = Termination()

    async def signalled() -> bool:
        termination.install()
        assert not termination.requested.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(termination.wait(), timeout=5)
        return termination.requested.is_set()

    assert asyncio.run(signalled())
