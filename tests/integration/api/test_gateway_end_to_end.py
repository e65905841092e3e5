"""A real task through the gateway: submitted over HTTP, run by the operator and the runner on
the local node, followed over SSE from snapshot to end, its log and result read back."""

from __future__ import annotations

from tests.fixtures.gateway import Gateway, read_events
from tests.fixtures.operator import OperatorProcess

SCRIPT = (
    "import time\n"
    "print('::progress 25 quarter', flush=True)\n"
    "print('hello from the task', flush=True)\n"
    "time.sleep(0.5)\n"
    "print('::progress 100 done', flush=True)\n"
    "print('::result {\"answer\": 42}', flush=True)\n"
)


def test_submit_follow_and_read_back(
    operator_proc: OperatorProcess, gateway: Gateway, op_namespace: str
) -> None:
    with gateway.client() as http:
        created = http.post(
            f"/v1/namespaces/{op_namespace}/tasks",
            json={"name": "real", "command": ["python3", "-c", SCRIPT]},
        )
        assert created.status_code == 201, created.text
        got = read_events(gateway, f"/v1/namespaces/{op_namespace}/tasks/real/events", timeout=120)
        task = http.get(f"/v1/namespaces/{op_namespace}/tasks/real").json()
        logs = http.get(f"/v1/namespaces/{op_namespace}/tasks/real/logs").json()

    assert got[0]["event"] == "snapshot" and got[0]["id"] is None
    assert all(e["id"] for e in got[1:])
    progress = [e["data"]["progress"] for e in got if e["event"] == "progress"]
    assert 25 in progress and progress[-1] == 100
    phases = [e["data"]["phase"] for e in got if e["event"] == "status"]
    assert "Running" in phases and phases[-1] == "Succeeded"
    assert got[-1]["event"] == "end" and got[-1]["data"]["phase"] == "Succeeded"
    assert task["phase"] == "Succeeded" and task["result"] == {"answer": 42}
    assert "hello from the task" in [line["line"] for line in logs["items"]]
