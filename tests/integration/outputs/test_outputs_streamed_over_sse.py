"""A Python task streams 2,000 tokens at 200/s: an SSE client gets every chunk once, in order;
a client that disconnects midway and resumes with Last-Event-ID ends with the same text; the
whole output is answered at any time and kept after the end."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import httpx
from longtask.client import AsyncClient, Client, OutputChunk
from longtask.core import keys
from longtask_examples import generating

from tests.fixtures.gateway import Gateway, iter_sse
from tests.integration.outputs.conftest import generator

TOKENS = 2000


def follow(
    gw: Gateway, path: str, last_id: str | None = None, stop_after: int | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The output events of a task's SSE stream (from the start, or after `last_id`) until its
    end, or until `stop_after` of them (then the connection is dropped); and the last id."""
    headers = gw.headers | ({"Last-Event-ID": last_id} if last_id else {})
    chunks: list[dict[str, Any]] = []
    with (
        httpx.Client(base_url=gw.url, timeout=httpx.Timeout(60)) as http,
        http.stream("GET", path, headers=headers) as response,
    ):
        assert response.status_code == 200, response.read().decode()
        for event in iter_sse(response):
            last_id = event["id"] or last_id
            if event["event"] == "output":
                chunks.append(event["data"])
                if stop_after is not None and len(chunks) >= stop_after:
                    break
    return chunks, last_id


def test_every_chunk_arrives_once_in_order_and_a_resumed_client_ends_with_the_same_text(
    gateway: Gateway, lt: Client, redis_client: Any
) -> None:
    task = lt.submit(generator(TOKENS, 200))
    path = f"/v1/namespaces/{task.namespace}/tasks/{task.name}/events"

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        whole_run = pool.submit(follow, gateway, path)  # one client, live from the start
        # Another drops its connection midway through the live run and resumes by id.
        first_half, last_id = follow(gateway, path, stop_after=700)
        assert lt.get(task.name).phase == "Running"
        rest, _ = follow(gateway, path, last_id=last_id)
        whole, _ = whole_run.result(timeout=120)

    expected = generating.text(1, TOKENS)
    assert [c["seq"] for c in whole] == list(range(TOKENS))
    assert {c["attempt"] for c in whole} == {1}
    assert "".join(c["chunk"] for c in whole) == expected
    resumed = first_half + rest
    assert [c["seq"] for c in resumed] == list(range(TOKENS))
    assert "".join(c["chunk"] for c in resumed) == expected

    assert lt.output(task.name).text() == expected
    # The output stream holds every chunk, untrimmed, for the lifetime of the task's keys.
    assert redis_client.xlen(keys.output(task.uid)) == TOKENS
    assert redis_client.ttl(keys.output(task.uid)) > 0


def test_the_python_client_follows_the_output_as_it_is_written(lt: Client) -> None:
    task = lt.submit(generator(300, 200, seed=7))
    seen = list(lt.outputs(task.name))
    chunks = [c for c in seen if isinstance(c, OutputChunk)]
    assert chunks == seen  # nothing was retracted
    assert [c.seq for c in chunks] == list(range(300))
    assert "".join(c.text() for c in chunks) == generating.text(7, 300)


def test_the_async_client_follows_the_output_too(gateway: Gateway, lt: Client) -> None:
    task = lt.submit(generator(200, 200, seed=9))

    async def follow_async() -> list[Any]:
        async with AsyncClient(gateway.url, gateway.key, namespace=task.namespace) as alt:
            return [change async for change in alt.outputs(task.name)]

    seen = asyncio.run(follow_async())
    assert [c.seq for c in seen if isinstance(c, OutputChunk)] == list(range(200))
    assert "".join(c.text() for c in seen if isinstance(c, OutputChunk)) == generating.text(9, 200)
