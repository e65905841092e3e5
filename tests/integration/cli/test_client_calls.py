"""Every call of the Python client against the real gateway, operator and local node: tasks
really run, and every error type comes from a real error response."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from longtask.client import (
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TaskCancelled,
    TaskEvent,
    TaskFailed,
    Unauthorized,
)
from longtask.core import resource
from longtask.core.wire import DeadLetter

from tests.fixtures.gateway import Gateway, GatewayFactory
from tests.fixtures.waiting import wait_for
from tests.integration.cli.conftest import progress_command


def test_submit_and_wait_report_progress_and_return_the_result(lt: Client) -> None:
    created = lt.submit(command=progress_command(steps=5, pause=0.1), name="counted")
    assert (created.name, created.namespace) == ("counted", lt.config.namespace)
    seen: list[TaskEvent] = []
    final = lt.wait("counted", on_progress=seen.append, timeout=90)
    assert final.phase is resource.Phase.SUCCEEDED
    assert final.result == {"steps": 5}
    assert seen[0].type == "snapshot" and seen[-1].type == "end"
    progress = [e.progress for e in seen if e.type == "progress" and e.progress is not None]
    assert progress == sorted(progress) and progress[-1] == 100
    assert lt.get("counted").progress == 100


def test_list_pages_through_every_task_with_filters(idle: Client) -> None:
    for i in range(3):
        idle.submit(command=["true"], name=f"listed-{i}", labels={"batch": "b1"})
    idle.submit(command=["true"], name="other", labels={"batch": "b2"})
    names = [t.name for t in idle.list(label_selector="batch=b1", page_size=2)]
    assert names == ["listed-0", "listed-1", "listed-2"]
    first = idle.list_page(label_selector="batch=b1", limit=2)
    assert len(first.items) == 2 and first.continue_
    everything = {t.name for t in idle.list(page_size=1)}
    assert everything == {"listed-0", "listed-1", "listed-2", "other"}


def test_cancel_stops_a_running_task_and_wait_raises_task_cancelled(lt: Client) -> None:
    lt.submit(command=progress_command(steps=300, pause=0.2), name="cancelled")
    for event in lt.events("cancelled"):
        if event.type == "progress":
            break  # it runs
    assert lt.cancel("cancelled").cancel_requested
    with pytest.raises(TaskCancelled) as info:
        lt.wait("cancelled", timeout=90)
    assert info.value.task.phase is resource.Phase.CANCELLED
    with pytest.raises(Conflict):
        lt.cancel("cancelled")


def test_failed_task_raises_task_failed_is_dead_lettered_and_can_be_retried(lt: Client) -> None:
    lt.submit(command=["sh", "-c", "echo broken; exit 1"], name="broken", retry={"maxAttempts": 1})
    with pytest.raises(TaskFailed) as info:
        lt.wait("broken", timeout=90)
    assert info.value.task.phase is resource.Phase.FAILED
    assert info.value.task.reason == resource.Reason.ATTEMPTS_EXHAUSTED

    def dead_letters() -> list[DeadLetter]:
        ns = lt.config.namespace
        return [d for d in lt.deadletters(namespace=ns) if d.name == "broken"]

    # The operator writes the dead letter right after the end event.
    letters = wait_for(dead_letters, timeout=10, what="the dead letter")
    assert len(letters) == 1 and letters[0].uid == info.value.task.uid
    again = lt.retry("broken")
    assert again.name != "broken" and again.retry_of == "broken"
    with pytest.raises(TaskFailed):
        lt.wait(again.name, timeout=90)


def test_logs_after_the_end_and_followed_live(lt: Client) -> None:
    lt.submit(command=progress_command(steps=4, pause=0.3), name="talker")
    followed = [line.line for line in lt.logs("talker", follow=True)]
    assert [line for line in followed if line.startswith("line")] == [
        "line 1",
        "line 2",
        "line 3",
        "line 4",
    ]
    assert [line.line for line in lt.logs("talker")] == followed


def test_delete_removes_the_task(idle: Client) -> None:
    idle.submit(command=["true"], name="doomed")
    idle.delete("doomed")
    with pytest.raises(NotFound):
        idle.get("doomed")
    with pytest.raises(NotFound):
        idle.delete("doomed")


def test_error_types_of_real_error_responses(idle: Client, gateway: Gateway) -> None:
    with pytest.raises(NotFound):
        idle.get("no-such-task")
    with pytest.raises(NotFound):
        list(idle.events("no-such-task"))
    idle.submit(command=["true"], name="taken")
    with pytest.raises(Conflict):
        idle.submit(command=["true"], name="taken")
    keyed = idle.submit(command=["true"], idempotency_key="k1")
    assert idle.submit(command=["true"], idempotency_key="k1").uid == keyed.uid
    with pytest.raises(Conflict):  # same Idempotency-Key, another body
        idle.submit(command=["false"], idempotency_key="k1")
    with pytest.raises(Conflict):  # only failed tasks are retried
        idle.retry("taken")
    with pytest.raises(InvalidRequest):
        idle.list_page(label_selector="a in (")
    with pytest.raises(InvalidRequest):
        list(idle.events("taken", last_event_id="not-an-id"))
    with (
        Client(gateway.url, "wrong-key", namespace=idle.config.namespace) as stranger,
        pytest.raises(Unauthorized),
    ):
        stranger.get("taken")


def test_a_key_of_another_namespace_is_forbidden(
    gateway_factory: GatewayFactory, op_namespace: str
) -> None:
    key = secrets.token_urlsafe(16)
    digest = hashlib.sha256(key.encode()).hexdigest()
    gw = gateway_factory(api_keys=f"{digest}:somewhere-else")
    with Client(gw.url, key, namespace=op_namespace) as lt, pytest.raises(Forbidden):
        lt.list_page()


async def test_async_client_submits_follows_and_waits(
    gateway: Gateway, lt: Client, op_namespace: str
) -> None:
    async with AsyncClient(gateway.url, gateway.key, namespace=op_namespace) as alt:
        await alt.submit(command=progress_command(steps=3, pause=0.1), name="async-one")
        kinds = [event.type async for event in alt.events("async-one")]
        assert kinds[0] == "snapshot" and kinds[-1] == "end" and "progress" in kinds
        final = await alt.wait("async-one", timeout=60)
        assert final.result == {"steps": 3}
        assert [t.name async for t in alt.list()] == ["async-one"]
        with pytest.raises(NotFound):
            await alt.get("nope")
