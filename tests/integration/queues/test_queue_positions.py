"""A queued task's place reaches its followers live: `queue` events over SSE count down to its
start, with an ETA compared with the actual start; the gateway lists queues with their counts
and suspends and resumes them; the CLI does the same and submits into a queue."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from typing import Any

from tests.fixtures.gateway import Gateway, read_events
from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.queues.conftest import Queues, quick, starts


def test_positions_count_down_over_sse_to_the_start(
    operator_proc: OperatorProcess, gateway: Gateway, tasks: Tasks, queues: Queues
) -> None:
    ns = tasks.namespace
    queues.create("one", maxRunning=1)
    for name in ("warm-a", "warm-b"):  # finished attempts: the ETA learns their duration
        tasks.create(name, quick(2, queue="one"))
    for name in ("warm-a", "warm-b"):
        tasks.wait_final(name, timeout=60)
    names = [f"p{i}" for i in range(5)]
    for name in names:
        tasks.create(name, quick(2, queue="one"))
    tasks.wait_phase(names[-1], {"Queued"}, timeout=60)
    got = read_events(gateway, f"/v1/namespaces/{ns}/tasks/{names[-1]}/events", timeout=180)
    placed = [e["data"] for e in got if e["event"] == "queue"]
    assert placed, [e["event"] for e in got]
    positions = [p["position"] for p in placed]
    assert positions == sorted(positions, reverse=True) and positions[-1] == 1, positions
    assert positions[0] >= 3  # it saw the tasks ahead of it start one by one
    first = placed[0]
    assert first["queue"] == "one" and first["reason"] == "QueueFull"
    assert first["message"].startswith(f"queued #{first['position']} in one")
    assert all(e["id"] is None for e in got if e["event"] == "queue")
    # After the last place comes the start, then the end.
    kinds = [(e["event"], e["data"].get("phase")) for e in got]
    assert ("status", "Queued") in kinds
    last_place = max(i for i, (k, _) in enumerate(kinds) if k == "queue")
    assert kinds.index(("status", "Pending")) > last_place
    final = tasks.wait_final(names[-1], timeout=60)
    assert final["status"]["phase"] == "Succeeded"
    started = starts(final)[0]
    assert first["eta"] is not None
    eta = dt.datetime.fromtimestamp(first["eta"] / 1000, dt.UTC)
    error = (started - eta).total_seconds()
    waited = (started - dt.datetime.fromtimestamp(first["ts"] / 1000, dt.UTC)).total_seconds()
    # Reported, not asserted (no timing assertions outside the benchmarks).
    print(
        f"queue ETA: predicted {eta:%H:%M:%S}, started {started:%H:%M:%S}: "
        f"error {error:+.1f} s over a wait of {waited:.1f} s"
    )


def test_the_gateway_lists_queues_with_counts_and_suspends_them(
    operator_proc: OperatorProcess, gateway: Gateway, tasks: Tasks, queues: Queues
) -> None:
    ns = tasks.namespace
    queues.create("held", maxRunning=2, rateLimit={"starts": 5, "periodSeconds": 60})
    with gateway.client() as http:
        suspended = http.post(f"/v1/namespaces/{ns}/queues/held/suspend")
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["suspend"] is True
        for name in ("w1", "w2", "w3"):
            created = http.post(
                f"/v1/namespaces/{ns}/tasks",
                json={"name": name, "queue": "held", "priority": 1, **quick(0)},
            )
            assert created.status_code == 201, created.text
        wait_for(
            lambda: http.get(f"/v1/namespaces/{ns}/queues/held").json()["queued"] == 3,
            30,
            "the queue's count of queued tasks",
        )
        listed = http.get(f"/v1/namespaces/{ns}/queues").json()["items"]
        assert [(q["name"], q["maxRunning"], q["queued"]) for q in listed] == [("held", 2, 3)]
        one = http.get(f"/v1/namespaces/{ns}/queues/held").json()
        assert one["rateLimit"] == {"starts": 5, "periodSeconds": 60}
        assert one["oldestQueuedTime"] is not None
        task = http.get(f"/v1/namespaces/{ns}/tasks/w3").json()
        assert task["phase"] == "Queued" and task["queuePosition"] == 3
        resumed = http.post(f"/v1/namespaces/{ns}/queues/held/resume")
        assert resumed.json()["suspend"] is False
        assert http.get(f"/v1/namespaces/{ns}/queues/nope").status_code == 404
    for name in ("w1", "w2", "w3"):
        assert tasks.wait_final(name, timeout=60)["status"]["phase"] == "Succeeded"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [env["LONGTASK_CLI"], *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_submits_into_a_queue_and_lists_suspends_and_resumes_it(
    stack: Any,
    operator_proc: OperatorProcess,
    gateway: Gateway,
    tasks: Tasks,
    queues: Queues,
) -> None:
    env = (
        dict(os.environ)
        | dict(stack.env)
        | {
            "LONGTASK_GATEWAY_URL": gateway.url,
            "LONGTASK_TOKEN": gateway.key or "",
            "LONGTASK_NAMESPACE": tasks.namespace,
            "COLUMNS": "160",
            "LONGTASK_CLI": str(stack.bin_dir / "longtask"),
        }
    )
    queues.create("cliq", maxRunning=1)
    done = cli(env, "queue", "suspend", "cliq")
    assert done.returncode == 0 and "suspended" in done.stdout, done.stderr
    done = cli(
        env,
        "submit",
        "--name",
        "viacli",
        "--queue",
        "cliq",
        "--priority",
        "7",
        "--",
        "sh",
        "-c",
        "echo '::progress 100 ok'",
    )
    assert done.returncode == 0, done.stderr
    assert tasks.get("viacli")["spec"]["priority"] == 7
    tasks.wait_phase("viacli", {"Queued"}, timeout=60)
    wait_for(lambda: "1" in cli(env, "queue", "ls").stdout.split(), 30, "ls to count it")
    listed = cli(env, "queue", "ls").stdout
    assert "cliq" in listed and "QUEUED" in listed
    shown = json.loads(cli(env, "queue", "get", "cliq", "-o", "json").stdout)
    assert shown["suspend"] is True and shown["maxRunning"] == 1
    done = cli(env, "queue", "resume", "cliq")
    assert done.returncode == 0 and "resumed" in done.stdout
    assert tasks.wait_final("viacli", timeout=60)["status"]["phase"] == "Succeeded"
