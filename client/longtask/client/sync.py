"""`Client`: the blocking client of the longtask gateway (httpx.Client underneath).

Requests and responses are `calls`'s; the event follow and its resume are `streams`'s; this
module only sends, sleeps and iterates. `AsyncClient` (`aio`) is the same with `await`.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
from httpx_sse import connect_sse
from longtask.client import base, calls, config, errors, outputfollow, streams
from longtask.core import resource, taskstate, wire
from typing_extensions import Unpack

T = TypeVar("T")
ProgressCallback = Callable[[streams.TaskEvent], object]


class Client:
    """A client of the gateway's `/v1` API.

    `base_url` and `token` default to the environment, then `.longtask/env` (see `config`);
    `namespace` to LONGTASK_NAMESPACE or `default`. Use it as a context manager, or `close()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        namespace: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        give_up_after: float = config.DEFAULT_GIVE_UP_AFTER,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config.discover(
            base_url, token, namespace=namespace, give_up_after=give_up_after
        )
        self._http = httpx.Client(transport=transport, **base.http_options(self.config, timeout))

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: calls.Call[T]) -> T:
        try:
            response = self._http.request(
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

    def submit(
        self,
        body: wire.TaskCreate | Mapping[str, Any] | None = None,
        /,
        *,
        namespace: str | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> wire.Task:
        """Create a task from a TaskCreate, a mapping or keyword fields (`command=[...]`)."""
        create = base.task_body(body, fields)
        return self._send(calls.submit(self.config.ns(namespace), create, idempotency_key))

    def get(self, name: str, *, namespace: str | None = None) -> wire.Task:
        return self._send(calls.get(self.config.ns(namespace), name))

    def list_page(
        self,
        *,
        namespace: str | None = None,
        phase: resource.Phase | str | None = None,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
    ) -> wire.TaskList:
        """One page of tasks; pass its `continue_` back for the next one."""
        call = calls.list_page(
            self.config.ns(namespace),
            phase=phase,
            label_selector=label_selector,
            limit=limit,
            continue_=continue_,
        )
        return self._send(call)

    def list(
        self,
        *,
        namespace: str | None = None,
        phase: resource.Phase | str | None = None,
        label_selector: str | None = None,
        page_size: int = 100,
    ) -> Iterator[wire.Task]:
        """Every task (matching the filters), reading page after page as it is iterated."""
        ns = self.config.ns(namespace)
        return self._every(
            lambda token: calls.list_page(
                ns, phase=phase, label_selector=label_selector, limit=page_size, continue_=token
            )
        )

    def _every(self, page_call: Callable[[str | None], calls.Call[base.Page[T]]]) -> Iterator[T]:
        """Every item of a paged list: `page_call(token)` reads the page after `token`."""
        token: str | None = None
        while True:
            page = self._send(page_call(token))
            yield from page.items
            token = page.continue_
            if not token:
                return

    def cancel(self, name: str, *, namespace: str | None = None) -> wire.Task:
        """Request cancellation; Conflict when the task already finished."""
        return self._send(calls.cancel(self.config.ns(namespace), name))

    def retry(self, name: str, *, namespace: str | None = None) -> wire.Task:
        """Re-run a Failed or Cancelled task as a new task (returned); Conflict otherwise."""
        return self._send(calls.retry(self.config.ns(namespace), name))

    def result(self, name: str, *, namespace: str | None = None) -> Any:
        """The task's result as a JSON value, whatever its size (inline in the status, or the
        large one `status.resultRef` points to). NotFound when it has none (yet)."""
        return self._send(calls.result(self.config.ns(namespace), name))

    def delete(self, name: str, *, namespace: str | None = None) -> None:
        self._send(calls.delete(self.config.ns(namespace), name))

    # ---- schedules -------------------------------------------------------------------------

    def schedules(
        self, *, namespace: str | None = None, page_size: int = 100
    ) -> Iterator[wire.Schedule]:
        """Every schedule of the namespace with its next slot and its runs, page by page."""
        ns = self.config.ns(namespace)
        return self._every(lambda token: calls.schedules_page(ns, limit=page_size, continue_=token))

    def schedule(self, name: str, *, namespace: str | None = None) -> wire.Schedule:
        return self._send(calls.get_schedule(self.config.ns(namespace), name))

    def trigger(self, name: str, *, namespace: str | None = None) -> wire.Task:
        """Run the schedule's template now, outside its slots; the run is returned (follow it
        with `wait` or `events`). Conflict when the operator refuses the schedule."""
        return self._send(calls.trigger(self.config.ns(namespace), name))

    def backfill(
        self,
        name: str,
        start: datetime.datetime,
        end: datetime.datetime,
        *,
        namespace: str | None = None,
    ) -> wire.BackfillResult:
        """Run the schedule's past slots from `start` to `end` (both included, each at most
        once: a slot whose run exists is left alone); InvalidRequest beyond 100 slots."""
        body = wire.Backfill(start=start, end=end)
        return self._send(calls.backfill(self.config.ns(namespace), name, body))

    def suspend(self, name: str, *, namespace: str | None = None) -> wire.Schedule:
        return self._send(calls.suspend(self.config.ns(namespace), name))

    def resume(self, name: str, *, namespace: str | None = None) -> wire.Schedule:
        """Resume a suspended schedule; the slots it missed follow its missedRuns."""
        return self._send(calls.resume(self.config.ns(namespace), name))

    # ---- queues ----------------------------------------------------------------------------

    def queues(self, *, namespace: str | None = None, page_size: int = 100) -> Iterator[wire.Queue]:
        """Every queue of the namespace with its limits and counts, page by page."""
        ns = self.config.ns(namespace)
        return self._every(lambda token: calls.queues_page(ns, limit=page_size, continue_=token))

    def queue(self, name: str, *, namespace: str | None = None) -> wire.Queue:
        return self._send(calls.get_queue(self.config.ns(namespace), name))

    def suspend_queue(self, name: str, *, namespace: str | None = None) -> wire.Queue:
        """Suspend a queue: none of its tasks starts (they stay Queued); running ones finish."""
        return self._send(calls.suspend_queue(self.config.ns(namespace), name))

    def resume_queue(self, name: str, *, namespace: str | None = None) -> wire.Queue:
        return self._send(calls.resume_queue(self.config.ns(namespace), name))

    # ---- logs and dead letters -------------------------------------------------------------

    def logs_page(
        self,
        name: str,
        *,
        namespace: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> wire.TaskLogs:
        return self._send(calls.logs(self.config.ns(namespace), name, after=after, limit=limit))

    def logs(
        self,
        name: str,
        *,
        namespace: str | None = None,
        follow: bool = False,
        after: str | None = None,
    ) -> Iterator[wire.LogLine]:
        """The task's output lines after `after`; with `follow`, live until the task ends
        (resuming by itself after dropped connections, like `events`)."""
        ns = self.config.ns(namespace)
        if follow:
            state = base.resume(self.config, after, None)
            for event in self._stream(calls.logs_path(ns, name), state, calls.FOLLOW):
                if event.type in (streams.LOG, streams.GAP):
                    yield streams.log_line(event)
            return
        while True:
            page = self.logs_page(name, namespace=ns, after=after)
            yield from page.items
            if page.next is None:  # a page of lines ends with `next`; a gap marker has none
                return
            after = page.next

    # ---- output ----------------------------------------------------------------------------

    def output(self, name: str, *, namespace: str | None = None) -> wire.TaskOutput:
        """The task's whole output so far (`.text()` joins it), failed attempts' retracted
        chunks left out."""
        return self._send(calls.output(self.config.ns(namespace), name))

    def outputs(
        self,
        name: str,
        *,
        namespace: str | None = None,
        give_up_after: float | None = None,
        timeout: float | None = None,
    ) -> Iterator[outputfollow.Change]:
        """The task's output as it is written, from its start until the task ends: each
        `outputs.Chunk` once, in order, and an `outputs.Retraction` when a new attempt withdraws
        chunks of a failed one (from `seq` on: drop them, the chunks that follow replace them).
        Resumes by itself after dropped connections; reads the whole output when the stream
        missed entries. Raises WaitTimeout after `timeout` seconds."""
        ns = self.config.ns(namespace)
        deadline = None if timeout is None else time.monotonic() + timeout
        follow = outputfollow.OutputFollow()
        for event in self._follow(name, ns, give_up_after=give_up_after, deadline=deadline):
            yield from follow.take(event)
            if follow.needs_output:
                yield from follow.fill(self.output(name, namespace=ns))

    def deadletters(
        self, *, namespace: str | None = None, page_size: int = 100
    ) -> Iterator[wire.DeadLetter]:
        """Dead-lettered tasks (of every namespace unless given), newest first, page by page."""
        before: str | None = None
        while True:
            call = calls.deadletters(namespace=namespace, before=before, limit=page_size)
            page = self._send(call)
            yield from page.items
            before = page.next
            if not before or not page.items:
                return

    # ---- history ---------------------------------------------------------------------------

    def history_page(
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
        return self._send(call)

    def history(
        self,
        *,
        namespace: str | None = None,
        page_size: int = 100,
        **filters: Unpack[calls.HistoryFilters],
    ) -> Iterator[wire.HistoryTask]:
        """Every finished task in the history matching the filters (`phases=["Failed"]`,
        `label_selector`, `name_prefix`, `since`, `until`, `queue`, `schedule`), newest
        first, page by page as it is iterated."""
        token: str | None = None
        while True:
            page = self.history_page(
                namespace=namespace, limit=page_size, continue_=token, **filters
            )
            yield from page.items
            token = page.continue_
            if not token:
                return

    def history_record(self, uid: str, *, namespace: str | None = None) -> wire.HistoryRecord:
        """One finished task whole: spec, result, every attempt, the tail of its log."""
        return self._send(calls.history_record(self.config.ns(namespace), uid))

    # ---- following -------------------------------------------------------------------------

    def events(
        self,
        name: str,
        *,
        namespace: str | None = None,
        last_event_id: str | None = None,
        give_up_after: float | None = None,
        tail: bool = False,
    ) -> Iterator[streams.TaskEvent]:
        """The task's events until `end`, resuming by itself after dropped connections.

        With `tail`, from the task's current state: a snapshot as of the stream's last entry,
        then only later events (no replay of the stream from its start)."""
        ns = self.config.ns(namespace)
        yield from self._follow(name, ns, last_event_id, give_up_after, tail=tail)

    def _follow(
        self,
        name: str,
        namespace: str,
        last_event_id: str | None = None,
        give_up_after: float | None = None,
        deadline: float | None = None,
        tail: bool = False,
    ) -> Iterator[streams.TaskEvent]:
        state = base.resume(self.config, last_event_id, give_up_after)
        path, query = calls.events_path(namespace, name), calls.events_query(tail)
        yield from self._stream(path, state, query, deadline=deadline)

    def _stream(
        self,
        path: str,
        state: streams.Resume,
        params: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> Iterator[streams.TaskEvent]:
        """The events of an SSE endpoint until `end`, reconnecting as `state` says."""
        while not state.ended:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise errors.WaitTimeout(f"{path}: no end in time")
            try:
                with connect_sse(
                    self._http,
                    "GET",
                    path,
                    params=dict(params or {}),
                    headers=state.headers(),
                    timeout=base.stream_timeout(remaining),
                ) as source:
                    if not source.response.is_success:
                        source.response.read()
                        calls.raise_for_status(source.response)
                    decoder = streams.Decoder()
                    for sse in source.iter_sse():
                        event = decoder.feed(sse)
                        if event is None:
                            continue
                        accepted = state.accept(event)
                        if accepted is not None:
                            yield accepted
                        if state.ended:
                            return
                        if deadline is not None and time.monotonic() >= deadline:
                            break
                if deadline is None or time.monotonic() < deadline:
                    raise streams.StreamClosed()
            except (httpx.TransportError, errors.ServerError) as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    continue  # the loop raises WaitTimeout
                time.sleep(state.next_delay(exc))

    def wait(
        self,
        name: str,
        *,
        namespace: str | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> wire.Task:
        """Follow the task to its end and return its final state.

        Raises TaskFailed or TaskCancelled for those outcomes (the task is on the exception),
        WaitTimeout after `timeout` seconds (at most one stream read timeout later when the
        stream is silent). `on_progress` is called with the task's current state (a snapshot),
        then each later progress, status, end and gap event (a gap: events between two ids were
        trimmed before they were read): never with the past again."""
        ns = self.config.ns(namespace)
        deadline = None if timeout is None else time.monotonic() + timeout
        known = taskstate.TaskState()
        for event in self._follow(name, ns, deadline=deadline, tail=True):
            if on_progress is not None and event.type in base.PROGRESS_EVENTS:
                on_progress(event)
            known = event.state
        return streams.outcome(self._final(name, ns, known))

    def _final(self, name: str, namespace: str, known: taskstate.TaskState) -> wire.Task:
        settle = time.monotonic() + base.FINAL_STATUS_GRACE
        task = self.get(name, namespace=namespace)
        while not task.phase.is_final and time.monotonic() < settle:
            time.sleep(base.FINAL_STATUS_POLL)
            task = self.get(name, namespace=namespace)
        return streams.final_view(task, known)
