"""The gateway's namespace check: unknown namespaces raise 404, known ones are remembered for a
while, and a gateway that may not read namespaces lets every call through."""

from __future__ import annotations

import pytest
from longtask.api.namespaces import Namespaces
from longtask.core.wire import ApiError


class Cluster:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def exists(self, namespace: str) -> bool | None:
        self.asked.append(namespace)
        return self.answer


async def test_an_unknown_namespace_raises_404_and_is_asked_again() -> None:
    cluster = Cluster(False)
    checker = Namespaces(cluster.exists)
    for _ in range(2):
        with pytest.raises(ApiError) as raised:
            await checker.require("ghost")
        assert (raised.value.status, raised.value.error) == (404, "namespace_not_found")
    assert cluster.asked == ["ghost", "ghost"]


async def test_a_known_namespace_is_remembered_until_the_ttl_passes() -> None:
    now = [0.0]
    cluster = Cluster(True)
    checker = Namespaces(cluster.exists, ttl_seconds=60, clock=lambda: now[0])
    await checker.require("a")
    now[0] = 59
    await checker.require("a")
    assert cluster.asked == ["a"]
    now[0] = 61
    cluster.answer = False
    with pytest.raises(ApiError):
        await checker.require("a")


async def test_without_the_right_to_read_namespaces_every_namespace_passes() -> None:
    checker = Namespaces(Cluster(None).exists)
    await checker.require("anything")
