"""Live followers of a task writing progress faster than a client takes it, across a gateway
restart: progress may be conflated (the newest replaces what a client has not taken), every
other event arrives exactly once and in order, the ids a client receives only grow, and a
client that reconnects with Last-Event-ID after the gateway process restarted goes on exactly
after its last id (the stream lives in Redis, the resume point in the client)."""

from __future__ import annotations

import threading
import time

import httpx
import redis
from longtask.api.streaming import streamids
from longtask.core import events
from longtask.core.resource import Phase

from tests.fixtures.gateway import GatewayFactory, add_event, create_task, iter_sse
from tests.fixtures.waiting import wait_for

EVENTS = 900
FOLLOWERS = 5


class Follower(threading.Thread):
    """A client as a browser's EventSource is: it reconnects with the last id it received."""

    def __init__(self, url: str, path: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.path, self.headers = url, path, headers
        self.got: list[tuple[str, str]] = []  # (id, event) of every stream entry received
        self.connections = 0
        self.live = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            last = {"Last-Event-ID": self.got[-1][0]} if self.got else {}
            try:
                with (
                    httpx.Client(base_url=self.url, timeout=httpx.Timeout(30)) as http,
                    http.stream("GET", self.path, headers=self.headers | last) as response,
                ):
                    if response.status_code != 200:
                        time.sleep(0.1)  # the gateway is starting again
                        continue
                    self.connections += 1
                    for event in iter_sse(response):
                        self.live.set()
                        if event["id"] is not None:
                            self.got.append((str(event["id"]), str(event["event"])))
                        if event["event"] == "end":
                            return
            except httpx.HTTPError:
                time.sleep(0.1)  # cut by the restart, or refused while it starts


def test_conflated_followers_resume_exactly_across_a_gateway_restart(
    gateway_factory: GatewayFactory, namespace: str, redis_client: redis.Redis
) -> None:
    gw = gateway_factory()
    task = create_task(gw, namespace, name="busy")
    path = f"/v1/namespaces/{namespace}/tasks/busy/events"
    followers = [Follower(gw.url, path, gw.headers) for _ in range(FOLLOWERS)]
    for follower in followers:
        follower.start()
    for follower in followers:
        assert follower.live.wait(30), "every follower gets its snapshot"

    written: list[tuple[str, str]] = []
    for n in range(EVENTS):
        # Bursts of progress (conflated for a client that has not taken the last one) among
        # log lines and output chunks (never conflated).
        event: events.Event = (
            events.log(1, f"line {n}")
            if n % 7 == 0
            else events.output(1, n // 7, f"chunk {n}")
            if n % 7 == 3
            else events.progress(1, n * 100 / EVENTS, str(n))
        )
        written.append((add_event(redis_client, task["uid"], event), str(event["type"])))
        if n == EVENTS // 3:
            gw.restart()  # the followers are cut off and reconnect with their last id
        if n % 50 == 0:
            time.sleep(0.05)
    written.append((add_event(redis_client, task["uid"], events.end(1, Phase.SUCCEEDED)), "end"))
    for follower in followers:
        follower.join(120)

    kept = [entry for entry in written if entry[1] != "progress"]
    progress = {entry for entry in written if entry[1] == "progress"}
    for follower in followers:
        got = follower.got
        assert follower.connections >= 2, "the restart cut every follower off"
        ids = [streamids.parse(i) for i, _ in got]
        assert ids == sorted(set(ids)), "ids only grow, none twice, across both connections"
        assert [entry for entry in got if entry[1] != "progress"] == kept
        assert {entry for entry in got if entry[1] == "progress"} <= progress
        assert [e for e in written if e[1] == "progress"][-1] in got  # the newest progress
        assert got[-1] == written[-1]  # the end
    wait_for(lambda: httpx.get(f"{gw.url}/readyz", timeout=5).status_code == 200, what="ready")
