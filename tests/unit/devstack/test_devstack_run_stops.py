"""`make run` stops following the logs and takes the stack down on Ctrl-C (SIGINT) or SIGTERM,
also when it started with the signal ignored: a background job of a shell without job control
(a CI script's `make test &`) inherits SIGINT ignored, and Python then raises no
KeyboardInterrupt, so Ctrl-C once left the stack running while its logs kept scrolling."""

from __future__ import annotations

import io
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from longtask.devstack import procs, redisserver, stack


@pytest.fixture(autouse=True)
def restore_signal_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in stack.STOP_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


class Terminal(io.StringIO):
    """Gets the signal while the first log line is printed, as a user pressing Ctrl-C while the
    logs scroll; a log line after that fails the test."""

    def __init__(self, signum: signal.Signals) -> None:
        super().__init__()
        self.signum = signum
        self.signalled = False

    def write(self, text: str) -> int:
        if text.startswith("gateway |"):
            assert not self.signalled, f"still following the logs after {self.signum.name}"
            self.signalled = True
            signal.raise_signal(self.signum)
        return super().write(text)


@pytest.mark.parametrize("signum", stack.STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stop_signal_ends_the_logs_and_takes_the_stack_down_even_if_ignored_at_start(
    signum: signal.Signals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signal.signal(signum, signal.SIG_IGN)  # as inherited
    log = tmp_path / "gateway.log"
    log.write_text("".join(f"GET /healthz {n}\n" for n in range(100)))
    started = stack.Stack(
        state_dir=tmp_path,
        kubeconfig=tmp_path / "kubeconfig",
        redis_url="",
        redis_port=0,
        procs={"gateway": procs.Proc("gateway", pid=0, started=0, log=str(log))},
        redis_passwords=redisserver.Passwords("", "", "", ""),
    )
    downs: list[Path] = []
    monkeypatch.setattr(stack, "up", lambda state: started)
    monkeypatch.setattr(stack, "down", downs.append)
    terminal = Terminal(signum)
    monkeypatch.setattr(sys, "stdout", terminal)

    stack.run(tmp_path)

    assert terminal.signalled
    assert downs == [tmp_path]
    assert terminal.getvalue().endswith("gateway | GET /healthz 90\n\nStopping…\n")
