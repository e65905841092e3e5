"""Resume with Last-Event-ID over a 500-event task: no gap, no duplicate, also across a
gateway restart (the stream lives in Redis, the resume point in the client)."""

from __future__ import annotations

import httpx
import redis
from longtask.core import events
from longtask.core.resource import Phase

from tests.fixtures.gateway import Gateway, GatewayFactory, add_event, create_task, read_events

TOTAL = 500


def write(r: redis.Redis, uid: str, start: int, stop: int) -> list[str]:
    ids = [
        add_event(r, uid, events.progress(1, i * 100 / TOTAL, f"{i}")) for i in range(start, stop)
    ]
    if stop == TOTAL:
        ids.append(add_event(r, uid, events.end(1, Phase.SUCCEEDED)))
    return ids


def entries(got: list[dict[str, object]]) -> list[str]:
    """Ids of the stream entries received (the snapshot has none)."""
    assert got[0]["event"] == "snapshot" and got[0]["id"] is None
    ids = [str(e["id"]) for e in got[1:]]
    assert all(ids), "every event after the snapshot carries an id"
    return ids


def test_reconnect_with_last_event_id_gets_exactly_the_rest(
    gateway: Gateway, namespace: str, redis_client: redis.Redis
) -> None:
    task = create_task(gateway, namespace, name="resumable")
    path = f"/v1/namespaces/{namespace}/tasks/resumable/events"
    first_half = write(redis_client, task["uid"], 0, 250)
    k = 123
    got = entries(read_events(gateway, path, count=1 + k))
    assert got == first_half[:k]
    second_half = write(redis_client, task["uid"], 250, TOTAL)
    rest = entries(read_events(gateway, path, headers={"Last-Event-ID": got[-1]}))
    assert rest == (first_half + second_half)[k:]
    assert len(got) + len(rest) == TOTAL + 1  # every progress event and the end, once

    # The query parameter works too, and the header wins over it (browser reconnects).
    by_query = entries(read_events(gateway, f"{path}?lastEventId={first_half[10]}"))
    assert by_query == (first_half + second_half)[11:]
    both = read_events(
        gateway, f"{path}?lastEventId={first_half[10]}", headers={"Last-Event-ID": got[-1]}
    )
    assert entries(both) == rest


def test_resume_across_a_gateway_restart(
    gateway_factory: GatewayFactory, namespace: str, redis_client: redis.Redis
) -> None:
    gw = gateway_factory()
    task = create_task(gw, namespace, name="restarted")
    path = f"/v1/namespaces/{namespace}/tasks/restarted/events"
    first = write(redis_client, task["uid"], 0, 300)
    got = entries(read_events(gw, path, count=1 + 200))
    gw.restart()
    later = write(redis_client, task["uid"], 300, TOTAL)
    rest = entries(read_events(gw, path, headers={"Last-Event-ID": got[-1]}))
    assert got + rest == first + later
    with httpx.Client(base_url=gw.url, headers=gw.headers) as http:
        assert http.get("/readyz").json()["ready"]
