"""Regression: a result too large for the status (kept in Redis behind `status.resultRef`) is
readable through the gateway, the client (sync and async) and `longtask result` (nothing could
read it before), and the SSE `result` event says where."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

from longtask.client import AsyncClient, Client
from longtask.devstack.stack import Stack

from tests.fixtures.gateway import Gateway, read_events

# About 300 KB of JSON with two-byte characters: over the 16 KiB of the status, and chunks of
# the gateway's Redis reads end inside characters.
SCRIPT = 'import json; print("::result " + json.dumps({"text": "é" * 150000, "n": 7}))'
EXPECTED = {"text": "é" * 150000, "n": 7}


async def async_result(gateway: Gateway, namespace: str, name: str) -> Any:
    async with AsyncClient(gateway.url, gateway.key, namespace=namespace) as alt:
        return await alt.result(name)


def test_a_large_result_is_readable_everywhere(
    lt: Client, gateway: Gateway, cli_env: dict[str, str], stack: Stack
) -> None:
    task = lt.submit(command=["python3", "-c", SCRIPT])
    done = lt.wait(task.name, timeout=120)
    assert done.result is None and done.result_ref  # too large for the status
    assert done.links.result == f"/v1/namespaces/{task.namespace}/tasks/{task.name}/result"

    assert lt.result(task.name) == EXPECTED
    assert asyncio.run(async_result(gateway, task.namespace, task.name)) == EXPECTED

    with gateway.client() as http:
        raw = http.get(done.links.result)
    assert raw.headers["content-type"] == "application/json"
    assert json.loads(raw.content) == EXPECTED

    printed = subprocess.run(
        [str(stack.bin_dir / "longtask"), "result", task.name, "-o", "json"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(printed.stdout) == EXPECTED

    events = read_events(gateway, f"/v1/namespaces/{task.namespace}/tasks/{task.name}/events")
    results: list[dict[str, Any]] = [e["data"] for e in events if e["event"] == "result"]
    assert [r["href"] for r in results] == [done.links.result]
    assert "resultRef" in results[0] and "result" not in results[0]


def test_a_small_result_is_answered_from_the_status(lt: Client, gateway: Gateway) -> None:
    task = lt.submit(command=["sh", "-c", "echo '::result {\"ok\": true}'"])
    lt.wait(task.name, timeout=120)
    assert lt.result(task.name) == {"ok": True}
    with gateway.client() as http:
        path = f"/v1/namespaces/{task.namespace}/tasks/{task.name}/result"
        assert http.get(path).json() == {"ok": True}


def test_no_result_is_a_404_that_says_so(lt: Client, gateway: Gateway) -> None:
    task = lt.submit(command=["true"])
    lt.wait(task.name, timeout=120)
    with gateway.client() as http:
        response = http.get(f"/v1/namespaces/{task.namespace}/tasks/{task.name}/result")
    assert response.status_code == 404 and response.json()["error"] == "no_result"
