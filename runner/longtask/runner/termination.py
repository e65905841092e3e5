"""SIGTERM (cancel or deadline) as state the task and the runner can both see.

The flag is a `threading.Event` so that a sync task in its worker thread reads it without
touching the event loop; the runner's loop awaits the matching `asyncio.Event`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Termination:
    """Set once the runner got SIGTERM (or SIGINT, for a task run by hand)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._event: asyncio.Event | None = None

    def catch_early(self) -> None:
        """Records the signals before the loop runs (while the reporter starts), so that a
        SIGTERM arriving then still ends the attempt through the normal path."""
        for signum in SIGNALS:
            signal.signal(signum, lambda received, _frame: self._on_signal(received))

    def install(self) -> None:
        """Handles the signals in the running loop (call from inside it)."""
        self._event = asyncio.Event()
        if self.requested.is_set():
            self._event.set()
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        if not self.requested.is_set():
            log.warning("got %s: the task is cancelled", signal.Signals(signum).name)
        self.requested.set()
        if self._event is not None:
            self._event.set()

    async def wait(self) -> None:
        assert self._event is not None, "install() first"
        await self._event.wait()

    @staticmethod
    def ignore_during_final_report() -> None:
        """After the loop ends: a second SIGTERM must not cut the final report short (it is
        bounded by its own timeout, and the kubelet's SIGKILL still applies)."""
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
