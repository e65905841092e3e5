"""Which task users a sweep creates and removes (pure), and the settings they need."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from longtask.core import redisusers
from longtask.core.resource import LongTask
from longtask.operator import taskusers
from longtask.operator.settings import Settings

from tests.fixtures.operator import T0, make_task

SETTINGS = Settings(redis_url="redis://r/0", redis_task_key="k")


def user(uid: str, namespace: str = "ns") -> str:
    return redisusers.task_username(namespace, uid)


def task(uid: str, phase: str | None, namespace: str = "ns", **status: str) -> LongTask:
    body = {"phase": phase, **status} if phase else {}
    return make_task(name=uid, uid=uid, namespace=namespace, status=body)


def plan(
    existing: list[str],
    tasks: list[LongTask],
    deleted: set[str] | None = None,
    settings: Settings = SETTINGS,
    now: dt.datetime = T0,
) -> taskusers.Plan:
    return taskusers.plan(existing, tasks, deleted or set(), settings, now)


def test_a_running_task_without_its_user_gets_it_back() -> None:
    # As after a Redis restart: only the users of the ACL file are left.
    got = plan(["default", redisusers.OPERATOR], [task("a", "Running"), task("b", "Retrying")])
    assert got.create == [("ns", "a"), ("ns", "b")] and not got.remove and not got.confirm


def test_a_task_with_its_user_needs_nothing() -> None:
    assert plan([user("a")], [task("a", "Pending")]) == taskusers.Plan()


def test_a_task_not_admitted_yet_is_left_to_the_reconciler() -> None:
    assert plan([user("a")], [task("a", None)]) == taskusers.Plan()
    assert plan([], [task("a", None)]) == taskusers.Plan()


def test_an_ended_task_loses_its_user() -> None:
    got = plan([user("a"), user("b")], [task("a", "Succeeded"), task("b", "Failed")])
    assert got.remove == [user("a"), user("b")] and not got.create


def test_a_cancelled_task_keeps_its_user_for_the_pods_grace_period() -> None:
    ended = (T0 - dt.timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cancelled = task("a", "Cancelled", completionTime=ended)
    assert plan([user("a")], [cancelled]) == taskusers.Plan()
    later = T0 + dt.timedelta(seconds=SETTINGS.termination_grace_seconds)
    assert plan([user("a")], [cancelled], now=later).remove == [user("a")]


def test_a_deleted_task_loses_its_user() -> None:
    assert plan([user("a")], [], deleted={"a"}).remove == [user("a")]


def test_an_unknown_tasks_user_is_removed_only_after_a_confirming_list() -> None:
    got = plan([user("a"), user("b", "other")], [])
    assert got.confirm == {"ns": [user("a")], "other": [user("b", "other")]}
    assert not got.remove


def test_users_of_namespaces_served_by_another_operator_are_left_alone() -> None:
    settings = dataclasses.replace(SETTINGS, namespaces=("lt-op-*",))
    existing = [user("a", "lt-own-1"), user("b", "lt-op-1"), "admin"]
    got = plan(existing, [task("c", "Running", "lt-own-1")], settings=settings)
    assert got == taskusers.Plan(confirm={"lt-op-1": [user("b", "lt-op-1")]})


def test_task_users_need_a_key() -> None:
    with pytest.raises(ValueError, match="LONGTASK_REDIS_TASK_KEY"):
        taskusers.TaskUsers(dataclasses.replace(SETTINGS, redis_task_key=""), list_uids=None)  # type: ignore[arg-type]


async def test_a_standby_neither_creates_nor_removes_users() -> None:
    errors: list[None] = []
    users = taskusers.TaskUsers(
        SETTINGS,
        list_uids=None,  # type: ignore[arg-type]
        on_error=lambda: errors.append(None),
        may_write=lambda: False,
    )
    assert not await users.create("ns", "a")
    await users.sync([task("a", "Running")], {"gone"}, T0)
    assert errors == []  # Redis (an address that resolves nowhere) was never asked
    await users.close()
