"""`AsyncClient`: the asyncio client of the longtask gateway (httpx.AsyncClient underneath).

The same calls, the same resume logic and the same errors as `Client` (`sync`); only the I/O
is awaited. A `wait` timeout is exact here (asyncio cancels the read).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from httpx_sse import aconnect_sse
from longtask.client import base, calls, config, errors, outputfollow, streams
from longtask.core import resource, taskstate, wire
from typing_extensions import Unpack

T = TypeVar("T")
ProgressCallback = Callable[[streams.TaskEvent], Awaitable[object] | object]


class AsyncClient:
    """An asyncio client of the gateway's `/v1` API (see `Client` for the defaults)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        namespace: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        give_up_after: float = config.DEFAULT_GIVE_UP_AFTER,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config.discover(
            base_url, token, namespace=namespace, give_up_after=give_up_after
        )
        self._http = httpx.AsyncClient(
            transport=transport, **base.http_options(self.config, timeout)
        )

    @property
    def base_url(self) -> str:
        return self.config.base_url

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: calls.Call[T]) -> T:
        try:
            response = await self._http.request(
                call.method,
                call.path,
                params=dict(call.params),
                json=call.json,
                headers=dict(call.headers),
            )
        except httpx.TransportError as exc:
            raise errors.GatewayUnreachable(f"{self.base_url}: {exc}") from exc
        return call.parse(response)

    # ---- tasks ---------------------------------------------------------------------------

    async def submit(
        self,
        body: wire.TaskCreate | Mapping[str, Any] | None = None,
        /,
        *,
        namespace: str | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> wire.Task:
        create = base.task_body(body, fields)
        return await self._send(calls.submit(self.config.ns(namespace), create, idempotency_key))

    async def get(self, name: str, *, namespace: str | None = None) -> wire.Task:
        return await self._send(calls.get(self.config.ns(namespace), name))

    async def list_page(
        self,
        *,
        namespace: str | None = None,
        phase: resource.Phase | str | None = None,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
    ) -> wire.TaskList:
        call = calls.list_page(
            self.config.ns(namespace),
            phase=phase,
            label_selector=label_selector,
            limit=limit,
            continue_=continue_,
        )
        return await self._send(call)

    def list(
        self,
        *,
        namespace: str | None = None,
        phase: resource.Phase | str | None = None,
        label_selector: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[wire.Task]:
        ns = self.config.ns(namespace)
        return self._every(
            lambda token: calls.list_page(
                ns, phase=phase, label_selector=label_selector, limit=page_size, continue_=token
            )
        )

    async def _every(
        self, page_call: Callable[[str | None], calls.Call[base.Page[T]]]
    ) -> AsyncIterator[T]:
        """Every item of a paged list: `page_call(token)` reads the page after `token`."""
        token: str | None = None
        while True:
            page = await self._send(page_call(token))
            for item in page.items:
                yield item
            token = page.continue_
            if not token:
                return

    async def cancel(self, name: str, *, namespace: str | None = None) -> wire.Task:
        return await self._send(calls.cancel(self.config.ns(namespace), name))

    async def retry(self, name: str, *, namespace: str | None = None) -> wire.Task:
        return await self._send(calls.retry(self.config.ns(namespace), name))

    async def result(self, name: str, *, namespace: str | None = None) -> Any:
        """The task's result as a JSON value, whatever its size (see `Client.result`)."""
        return await self._send(calls.result(self.config.ns(namespace), name))

    async def delete(self, name: str, *, namespace: str | None = None) -> None:
        await self._send(calls.delete(self.config.ns(namespace), name))

    # ---- schedules -------------------------------------------------------------------------

    def schedules(
        self, *, namespace: str | None = None, page_size: int = 100
    ) -> AsyncIterator[wire.Schedule]:
        """Every schedule of the namespace (see `Client.schedules`)."""
        ns = self.config.ns(namespace)
        return self._every(lambda token: calls.schedules_page(ns, limit=page_size, continue_=token))

    async def schedule(self, name: str, *, namespace: str | None = None) -> wire.Schedule:
        return await self._send(calls.get_schedule(self.config.ns(namespace), name))

    async def trigger(self, name: str, *, namespace: str | None = None) -> wire.Task:
        return await self._send(calls.trigger(self.config.ns(namespace), name))

    async def backfill(
        self,
        name: str,
        start: datetime.datetime,
        end: datetime.datetime,
        *,
        namespace: str | None = None,
    ) -> wire.BackfillResult:
        body = wire.Backfill(start=start, end=end)
        return await self._send(calls.backfill(self.config.ns(namespace), name, body))

    async def suspend(self, name: str, *, namespace: str | None = None) -> wire.Schedule:
        return await self._send(calls.suspend(self.config.ns(namespace), name))

    async def resume(self, name: str, *, namespace: str | None = None) -> wire.Schedule:
        return await self._send(calls.resume(self.config.ns(namespace), name))

    # ---- queues ----------------------------------------------------------------------------

    def queues(
        self, *, namespace: str | None = None, page_size: int = 100
    ) -> AsyncIterator[wire.Queue]:
        """Every queue of the namespace (see `Client.queues`)."""
        ns = self.config.ns(namespace)
        return self._every(lambda token: calls.queues_page(ns, limit=page_size, continue_=token))

    async def queue(self, name: str, *, namespace: str | None = None) -> wire.Queue:
        return await self._send(calls.get_queue(self.config.ns(namespace), name))

    async def suspend_queue(self, name: str, *, namespace: str | None = None) -> wire.Queue:
        return await self._send(calls.suspend_queue(self.config.ns(namespace), name))

    async def resume_queue(self, name: str, *, namespace: str | None = None) -> wire.Queue:
        return await self._send(calls.resume_queue(self.config.ns(namespace), name))

    # ---- logs and dead letters -------------------------------------------------------------

    async def logs_page(
        self,
        name: str,
        *,
        namespace: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> wire.TaskLogs:
        ns = self.config.ns(namespace)
        return await self._send(calls.logs(ns, name, after=after, limit=limit))

    async def logs(
        self,
        name: str,
        *,
        namespace: str | None = None,
        follow: bool = False,
        after: str | None = None,
    ) -> AsyncGenerator[wire.LogLine, None]:
        ns = self.config.ns(namespace)
        if follow:
            state = base.resume(self.config, after, None)
            path = calls.logs_path(ns, name)
            async with contextlib.aclosing(self._stream(path, state, calls.FOLLOW)) as stream:
                async for event in stream:
                    if event.type in (streams.LOG, streams.GAP):
                        yield streams.log_line(event)
            return
        while True:
            page = await self.logs_page(name, namespace=ns, after=after)
            for line in page.items:
                yield line
            if page.next is None:  # a page of lines ends with `next`; a gap marker has none
                return
            after = page.next

    # ---- output ----------------------------------------------------------------------------

    async def output(self, name: str, *, namespace: str | None = None) -> wire.TaskOutput:
        """The task's whole output so far (see `Client.output`)."""
        return await self._send(calls.output(self.config.ns(namespace), name))

    async def outputs(
        self,
        name: str,
        *,
        namespace: str | None = None,
        give_up_after: float | None = None,
    ) -> AsyncGenerator[outputfollow.Change, None]:
        """The task's output as it is written, chunks and retractions (see `Client.outputs`)."""
        ns = self.config.ns(namespace)
        follow = outputfollow.OutputFollow()
        async with contextlib.aclosing(
            self.events(name, namespace=ns, give_up_after=give_up_after)
        ) as stream:
            async for event in stream:
                for change in follow.take(event):
                    yield change
                if follow.needs_output:
                    for change in follow.fill(await self.output(name, namespace=ns)):
                        yield change

    async def deadletters(
        self, *, namespace: str | None = None, page_size: int = 100
    ) -> AsyncIterator[wire.DeadLetter]:
        before: str | None = None
        while True:
            call = calls.deadletters(namespace=namespace, before=before, limit=page_size)
            page = await self._send(call)
            for item in page.items:
                yield item
            before = page.next
            if not before or not page.items:
                return

    # ---- history ---------------------------------------------------------------------------

    async def history_page(
        self,
        *,
        namespace: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        **filters: Unpack[calls.HistoryFilters],
    ) -> wire.HistoryList:
        """One page of finished tasks from the history, newest first; pass its `continue_`
        back for the next (older) page."""
        call = calls.history_page(
            self.config.ns(namespace), limit=limit, continue_=continue_, **filters
        )
        return await self._send(call)

    async def history(
        self,
        *,
        namespace: str | None = None,
        page_size: int = 100,
        **filters: Unpack[calls.HistoryFilters],
    ) -> AsyncIterator[wire.HistoryTask]:
        """Every finished task in the history matching the filters (`phases=["Failed"]`,
        `label_selector`, `name_prefix`, `since`, `until`, `queue`, `schedule`), newest
        first, page by page as it is iterated."""
        token: str | None = None
        while True:
            page = await self.history_page(
                namespace=namespace, limit=page_size, continue_=token, **filters
            )
            for item in page.items:
                yield item
            token = page.continue_
            if not token:
                return

    async def history_record(self, uid: str, *, namespace: str | None = None) -> wire.HistoryRecord:
        """One finished task whole: spec, result, every attempt, the tail of its log."""
        return await self._send(calls.history_record(self.config.ns(namespace), uid))

    # ---- following -------------------------------------------------------------------------

    async def events(
        self,
        name: str,
        *,
        namespace: str | None = None,
        last_event_id: str | None = None,
        give_up_after: float | None = None,
        tail: bool = False,
    ) -> AsyncGenerator[streams.TaskEvent, None]:
        """The task's events until `end`, resuming by itself after dropped connections (with
        `tail`, from the task's current state: see `Client.events`)."""
        state = base.resume(self.config, last_event_id, give_up_after)
        path = calls.events_path(self.config.ns(namespace), name)
        query = calls.events_query(tail)
        async with contextlib.aclosing(self._stream(path, state, query)) as stream:
            async for event in stream:
                yield event

    async def _stream(
        self, path: str, state: streams.Resume, params: Mapping[str, str] | None = None
    ) -> AsyncGenerator[streams.TaskEvent, None]:
        """The events of an SSE endpoint until `end`, reconnecting as `state` says."""
        while not state.ended:
            try:
                async with aconnect_sse(
                    self._http,
                    "GET",
                    path,
                    params=dict(params or {}),
                    headers=state.headers(),
                    timeout=base.stream_timeout(None),
                ) as source:
                    if not source.response.is_success:
                        await source.response.aread()
                        calls.raise_for_status(source.response)
                    decoder = streams.Decoder()
                    async for sse in source.aiter_sse():
                        event = decoder.feed(sse)
                        if event is None:
                            continue
                        accepted = state.accept(event)
                        if accepted is not None:
                            yield accepted
                        if state.ended:
                            return
                raise streams.StreamClosed()
            except (httpx.TransportError, errors.ServerError) as exc:
                await asyncio.sleep(state.next_delay(exc))

    async def wait(
        self,
        name: str,
        *,
        namespace: str | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the same signature as Client.wait
    ) -> wire.Task:
        """Follow the task to its end and return its final state (see `Client.wait`);
        `on_progress` may be a plain function or a coroutine function."""
        ns = self.config.ns(namespace)
        try:
            async with asyncio.timeout(timeout):
                known = taskstate.TaskState()
                events = self.events(name, namespace=ns, tail=True)
                async with contextlib.aclosing(events) as stream:
                    async for event in stream:
                        if on_progress is not None and event.type in base.PROGRESS_EVENTS:
                            result = on_progress(event)
                            if isinstance(result, Awaitable):
                                await result
                        known = event.state
        except TimeoutError:
            raise errors.WaitTimeout(f"task {ns}/{name} did not finish in time") from None
        return streams.outcome(await self._final(name, ns, known))

    async def _final(self, name: str, namespace: str, known: taskstate.TaskState) -> wire.Task:
        settle = time.monotonic() + base.FINAL_STATUS_GRACE
        task = await self.get(name, namespace=namespace)
        while not task.phase.is_final and time.monotonic() < settle:
            await asyncio.sleep(base.FINAL_STATUS_POLL)
            task = await self.get(name, namespace=namespace)
        return streams.final_view(task, known)
