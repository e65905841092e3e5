"""An attempt's final report: the last events and the result to Redis, the last status patch.

Design choices (continuing the reporter's, see `reporter`):

6. One deadline for the whole report. After SIGTERM the kubelet's SIGKILL is a few seconds away,
   so every retry stops at the deadline and what could not be written is logged, not waited for.
7. Redis and the status side by side. A result small enough for the status goes inline into
   both; a larger one is stored in Redis first and the status points to it (`resultRef`). When
   Redis cannot take it, the status message says the result was lost instead of pointing nowhere.
8. The outcome's progress and message, when it has them, replace the last reported ones. A task
   that never reported leaves the operator's status values alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time

from longtask.core import events, resource
from longtask.runner import results, throttling
from longtask.runner.errors import StatusGone, StatusRejected
from longtask.runner.outbox import Outbox, Progress
from longtask.runner.sinks import EventSink, PatchSink

log = logging.getLogger(__name__)

# The final message of an attempt stopped by SIGTERM. The runner cannot tell a cancel from a
# timeout or an eviction; the operator can, and says so in the status (a timeout's message).
TERMINATED_MESSAGE = "terminated by SIGTERM"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How the attempt ended, for the final report."""

    progress: float | None = None
    """Final progress; None keeps the last reported value."""
    message: str | None = None
    """Final message; None keeps the last reported message."""
    result: str | None = None
    """The result as compact JSON (see `results.encode`), or None."""


class FinalReport:
    """Writes one attempt's final report before a deadline (choice 6)."""

    def __init__(
        self,
        attempt: int,
        outcome: Outcome,
        progress: throttling.Latest[Progress],
        outbox: Outbox,
        deadline: float,
    ) -> None:
        self._attempt = attempt
        self._outcome = outcome
        self._progress = progress
        self._outbox = outbox
        self._deadline = deadline
        self._inline = outcome.result is not None and results.fits_status(outcome.result)
        # Where a large result went (None: nowhere, or it is inline); the status waits for it.
        self._result_ref: asyncio.Future[str | None] | None = None

    async def write(self, redis: EventSink | None, status: PatchSink | None) -> None:
        """Both halves at once (choice 7); `None` skips a sink (absent, or its task gone)."""
        outcome = self._outcome
        if outcome.progress is not None or outcome.message is not None:  # choice 8
            latest = self._progress.value or (0.0, "")
            percent = latest[0] if outcome.progress is None else outcome.progress
            message = latest[1] if outcome.message is None else outcome.message
            self._progress.put((percent, message[: resource.MESSAGE_MAX_CHARS]))
        self._result_ref = asyncio.get_running_loop().create_future()
        if outcome.result is None or self._inline or redis is None:
            self._result_ref.set_result(None)
        await asyncio.gather(self._to_redis(redis), self._to_status(status))

    async def _to_redis(self, sink: EventSink | None) -> None:
        assert self._result_ref is not None
        if sink is None:
            return
        backoff = throttling.Backoff(initial=0.2, maximum=2.0)
        encoded = self._outcome.result
        while not self._result_ref.done():
            assert encoded is not None
            try:
                self._result_ref.set_result(await sink.store_result(encoded))
            except Exception as exc:
                if not await self._retry(backoff, exc, "store the result"):
                    self._result_ref.set_result(None)
        extra: list[events.Event] = []
        if encoded is not None:
            ref = self._result_ref.result()
            if self._inline:
                extra.append(events.result(self._attempt, json.loads(encoded)))
            elif ref is not None:
                extra.append(events.result_ref(self._attempt, ref))
        self._outbox.collect()
        batch = self._outbox.batch(final=True, extra=extra)
        while batch:
            try:
                await sink.write(batch)
                return
            except Exception as exc:
                if not await self._retry(backoff, exc, "write the final events"):
                    return

    async def _to_status(self, sink: PatchSink | None) -> None:
        assert self._result_ref is not None
        if sink is None:
            return
        latest = self._progress.value
        status = resource.Status()
        if latest is not None:  # choice 8
            status = resource.Status(progress=latest[0], message=latest[1])
        encoded = self._outcome.result
        if encoded is not None:
            if self._inline:
                status["result"] = json.loads(encoded)
            elif (ref := await self._result_ref) is not None:
                status["resultRef"] = ref
            else:
                lost = f"{(latest or (0.0, ''))[1]} (result lost: Redis unavailable)"
                status["message"] = lost[: resource.MESSAGE_MAX_CHARS]
        if not status:
            return
        backoff = throttling.Backoff(initial=0.5, maximum=5.0)
        while True:
            try:
                await sink.patch(status)
                return
            except (StatusGone, StatusRejected) as exc:
                log.warning("final status patch refused: %s", exc)
                return
            except Exception as exc:
                if not await self._retry(backoff, exc, "patch the final status"):
                    return

    async def _retry(self, backoff: throttling.Backoff, exc: BaseException, what: str) -> bool:
        """Sleeps before the next try; False when that would pass the deadline."""
        delay = backoff.next()
        if time.monotonic() + delay > self._deadline:
            log.error("could not %s before the deadline: %s", what, exc)
            return False
        await asyncio.sleep(delay)
        return True
