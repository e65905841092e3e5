"""`events()` and `wait()` against a fake gateway whose streams break: resume with
Last-Event-ID, no gap, no duplicate, give up when told, the outcome as an exception."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from longtask.client import AsyncClient, Client, errors

from tests.unit.cli import sse

SSE_HEADERS = {"content-type": "text/event-stream"}


class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that delivers `chunks`, then breaks like a killed gateway."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        raise httpx.ReadError("connection reset by peer")


class FakeGateway:
    """Serves one scripted response per connection to the events route; records the
    Last-Event-ID of each; answers task reads with `final_phase`."""

    def __init__(self, *responses: httpx.Response | Exception, final_phase: str = "Succeeded"):
        self.responses = list(responses)
        self.resumed_from: list[str | None] = []
        self.final_phase = final_phase

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/events"):
            return httpx.Response(200, json=sse.task(phase=self.final_phase))
        self.resumed_from.append(request.headers.get("Last-Event-ID"))
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response


def sse_response(*chunks: bytes, broken: bool = False) -> httpx.Response:
    if broken:
        return httpx.Response(200, headers=SSE_HEADERS, stream=Broken(*chunks))
    return httpx.Response(200, headers=SSE_HEADERS, content=b"".join(chunks))


def scripted_outage() -> FakeGateway:
    """Connection 1 breaks after 2-0; connection 2 is refused; 3 answers 503; 4 closes early
    (after repeating 2-0 and sending 3-0); 5 finishes."""
    return FakeGateway(
        sse_response(sse.snapshot(), sse.progress("1-0", 10), sse.progress("2-0", 20), broken=True),
        httpx.ConnectError("connection refused"),
        httpx.Response(503, json={"error": "unavailable", "message": "restarting"}),
        sse_response(sse.snapshot(progress=20), sse.progress("2-0", 20), sse.progress("3-0", 30)),
        sse_response(sse.snapshot(progress=30), sse.progress("4-0", 40), sse.end("5-0")),
    )


def fast(lt: Client | AsyncClient) -> None:
    lt.config = dataclasses.replace(lt.config, initial_delay=0.0, max_delay=0.0)


def test_events_resume_after_drops_without_gap_or_duplicate() -> None:
    gateway = scripted_outage()
    with Client("http://gw", namespace="ns", transport=httpx.MockTransport(gateway)) as lt:
        fast(lt)
        got = list(lt.events("t1"))
    ids = [e.id for e in got if e.id is not None]
    assert ids == ["1-0", "2-0", "3-0", "4-0", "5-0"]
    assert [e.type for e in got].count("snapshot") == 3
    assert got[-1].is_end
    assert gateway.resumed_from == [None, "2-0", "2-0", "2-0", "3-0"]


async def test_async_events_resume_the_same_way() -> None:
    gateway = scripted_outage()
    transport = httpx.MockTransport(gateway)
    async with AsyncClient("http://gw", namespace="ns", transport=transport) as lt:
        fast(lt)
        got = [e async for e in lt.events("t1")]
    assert [e.id for e in got if e.id is not None] == ["1-0", "2-0", "3-0", "4-0", "5-0"]
    assert gateway.resumed_from == [None, "2-0", "2-0", "2-0", "3-0"]


def test_events_start_after_a_given_id() -> None:
    gateway = FakeGateway(sse_response(sse.snapshot(), sse.end("9-0")))
    with Client("http://gw", namespace="ns", transport=httpx.MockTransport(gateway)) as lt:
        list(lt.events("t1", last_event_id="8-0"))
    assert gateway.resumed_from == ["8-0"]


def test_events_give_up_after_the_configured_time() -> None:
    gateway = FakeGateway(*[httpx.ConnectError("refused")] * 3)
    with Client("http://gw", namespace="ns", transport=httpx.MockTransport(gateway)) as lt:
        fast(lt)
        with pytest.raises(errors.GatewayUnreachable):
            list(lt.events("t1", give_up_after=0))


def test_events_of_a_missing_task_raise_not_found_at_once() -> None:
    gateway = FakeGateway(httpx.Response(404, json={"error": "not_found", "message": "no t1"}))
    transport = httpx.MockTransport(gateway)
    with (
        Client("http://gw", namespace="ns", transport=transport) as lt,
        pytest.raises(errors.NotFound, match="no t1"),
    ):
        list(lt.events("t1"))
    assert len(gateway.resumed_from) == 1


def test_wait_reports_progress_and_returns_the_final_task() -> None:
    gateway = scripted_outage()
    seen: list[tuple[str, float | None]] = []
    with Client("http://gw", namespace="ns", transport=httpx.MockTransport(gateway)) as lt:
        fast(lt)
        task = lt.wait("t1", on_progress=lambda e: seen.append((e.type, e.progress)))
    assert task.phase == "Succeeded"
    progress = [pct for kind, pct in seen if kind == "progress"]
    assert progress == [10, 20, 30, 40]
    assert seen[-1][0] == "end"


@pytest.mark.parametrize(
    ("phase", "error"), [("Failed", errors.TaskFailed), ("Cancelled", errors.TaskCancelled)]
)
def test_wait_raises_for_failed_and_cancelled(phase: str, error: type[errors.TaskError]) -> None:
    gateway = FakeGateway(sse_response(sse.snapshot(), sse.end("1-0", phase)), final_phase=phase)
    transport = httpx.MockTransport(gateway)
    with (
        Client("http://gw", namespace="ns", transport=transport) as lt,
        pytest.raises(error) as info,
    ):
        lt.wait("t1")
    assert info.value.task.phase == phase


@pytest.mark.parametrize(
    ("phase", "error"), [("Failed", errors.TaskFailed), ("Cancelled", errors.TaskCancelled)]
)
async def test_async_wait_raises_for_failed_and_cancelled(
    phase: str, error: type[errors.TaskError]
) -> None:
    gateway = FakeGateway(sse_response(sse.snapshot(), sse.end("1-0", phase)), final_phase=phase)
    transport = httpx.MockTransport(gateway)
    seen: list[str] = []

    async def record(event: object) -> None:
        seen.append(getattr(event, "type", ""))

    async with AsyncClient("http://gw", namespace="ns", transport=transport) as lt:
        with pytest.raises(error):
            await lt.wait("t1", on_progress=record)
    assert seen == ["snapshot", "end"]


def test_wait_timeout_leaves_the_task_alone() -> None:
    gateway = FakeGateway(sse_response(sse.snapshot(), sse.progress("1-0", 5)))
    with Client("http://gw", namespace="ns", transport=httpx.MockTransport(gateway)) as lt:
        with pytest.raises(errors.WaitTimeout):
            lt.wait("t1", timeout=0)
        with pytest.raises(TimeoutError):  # WaitTimeout is a TimeoutError too
            lt.wait("t1", timeout=0)


async def test_async_wait_timeout_cancels_a_silent_stream() -> None:
    class Silent(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield sse.snapshot()
            await asyncio.Event().wait()  # never delivers anything else

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE_HEADERS, stream=Silent())

    transport = httpx.MockTransport(handler)
    async with AsyncClient("http://gw", namespace="ns", transport=transport) as lt:
        with pytest.raises(errors.WaitTimeout):
            await lt.wait("t1", timeout=0.2)
