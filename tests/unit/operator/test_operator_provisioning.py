"""The runner's account in each namespace where tasks may run: the plan (pure) and the
provisioner acting on watch events, over an in-memory stand-in for the API."""

from __future__ import annotations

import asyncio
import collections
import copy
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.operator import provisioning
from longtask.operator.kube import Kube
from longtask.operator.provisioner import Provisioner
from longtask.operator.provisioning import Step, Verb
from longtask.operator.settings import Settings

SETTINGS = Settings(runner_cluster_role="lt-runner")
ENABLED = {"matchLabels": {"longtask.io/enabled": "true"}}


@pytest.mark.parametrize(
    ("selector", "labels", "selected"),
    [
        (None, {}, True),
        ({}, {"a": "b"}, True),
        (ENABLED, {"longtask.io/enabled": "true", "x": "y"}, True),
        (ENABLED, {"longtask.io/enabled": "false"}, False),
        (ENABLED, {}, False),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]},
         {"team": "b"}, True),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}, {}, False),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]},
         {"team": "a"}, False),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, {"team": ""}, True),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, {"team": "a"}, False),
        ({"matchExpressions": [{"key": "team", "operator": "Near"}]}, {"team": "a"}, False),
    ],
)  # fmt: skip
def test_namespace_selectors_as_kubernetes_reads_them(
    selector: dict[str, Any] | None, labels: dict[str, str], selected: bool
) -> None:
    assert provisioning.selects(selector, labels) is selected


def account(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "longtask-runner", "namespace": "ns", "labels": labels}}


OURS = provisioning.account("ns", SETTINGS)
BINDING = provisioning.binding("ns", SETTINGS)


def steps(plan: provisioning.Plan) -> list[tuple[Verb, str]]:
    return [(s.verb, s.kind) for s in plan.steps]


def plan(
    selected: bool = True, found_account: Any = None, found_binding: Any = None, busy: bool = False
) -> provisioning.Plan:
    return provisioning.plan("ns", selected, found_account, found_binding, busy, SETTINGS)


def test_an_enabled_namespace_gets_a_marked_account_bound_to_the_runners_cluster_role() -> None:
    assert steps(plan()) == [(Verb.CREATE, "ServiceAccount"), (Verb.CREATE, "RoleBinding")]
    made = plan().steps
    assert made[0].body == OURS
    assert OURS["metadata"]["labels"]["longtask.io/runner"] == "true"
    assert OURS["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "longtask-operator"
    assert BINDING["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "lt-runner",
    }
    assert BINDING["subjects"] == [
        {"kind": "ServiceAccount", "name": "longtask-runner", "namespace": "ns"}
    ]
    assert plan(True, OURS, BINDING).steps == ()


def test_an_account_someone_made_is_marked_not_replaced() -> None:
    marked = plan(True, account(app="mine"), BINDING)
    assert marked.steps == (
        Step(
            Verb.PATCH, "ServiceAccount", "ns", "longtask-runner",
            {"metadata": {"labels": {"longtask.io/runner": "true"}}},
        ),
    )  # fmt: skip


def test_a_changed_binding_is_repaired() -> None:
    other_role = copy.deepcopy(BINDING)
    other_role["roleRef"]["name"] = "cluster-admin"
    assert steps(plan(True, OURS, other_role)) == [
        (Verb.DELETE, "RoleBinding"),  # roleRef is immutable
        (Verb.CREATE, "RoleBinding"),
    ]
    more_subjects = copy.deepcopy(BINDING)
    more_subjects["subjects"].append({"kind": "ServiceAccount", "name": "x", "namespace": "ns"})
    fixed = plan(True, OURS, more_subjects).steps
    assert [(s.verb, s.kind) for s in fixed] == [(Verb.PATCH, "RoleBinding")]
    assert fixed[0].body is not None and fixed[0].body["subjects"] == BINDING["subjects"]
    unlabelled = copy.deepcopy(BINDING)
    unlabelled["metadata"]["labels"] = {}
    assert steps(plan(True, OURS, unlabelled)) == [(Verb.PATCH, "RoleBinding")]


def test_a_namespace_no_longer_enabled_loses_what_the_operator_made_once_idle() -> None:
    assert plan(False, OURS, BINDING, busy=True) == provisioning.Plan(retry_after=30.0)
    assert steps(plan(False, OURS, BINDING)) == [
        (Verb.DELETE, "RoleBinding"),
        (Verb.DELETE, "ServiceAccount"),
    ]
    assert plan(False, account(app="mine"), None).steps == ()  # adopted: never deleted
    assert plan(False).steps == ()


def test_the_enable_hint_is_a_command_for_plain_labels() -> None:
    assert provisioning.enable_hint("team-a", ENABLED) == (
        "`kubectl label namespace team-a longtask.io/enabled=true`"
    )
    expression = {"matchExpressions": [{"key": "t", "operator": "Exists"}]}
    assert "namespace selector" in provisioning.enable_hint("team-a", expression)


# The provisioner: watch events, the views and the writes ------------------------------------


class FakeKube:
    """ServiceAccounts and RoleBindings by (kind, namespace); counts writes like kube.Kube. Its
    watches yield what a test puts into `events`; an exception put there ends the watch with it."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: collections.Counter[str] = collections.Counter()
        self.uids = 0
        self.lists: collections.Counter[tuple[str, str | None]] = collections.Counter()
        self.events: collections.defaultdict[tuple[str, str | None], asyncio.Queue[Any]] = (
            collections.defaultdict(asyncio.Queue)
        )

    async def list_named(
        self, kind: str, name: str, namespace: str | None
    ) -> tuple[list[dict[str, Any]], str]:
        found = [
            copy.deepcopy(o)
            for (k, ns), o in self.objects.items()
            if k == kind and namespace in (None, ns)
        ]
        self.lists[(kind, namespace)] += 1
        return found, str(self.uids)

    async def watch_named(
        self, kind: str, name: str, namespace: str | None, resource_version: str
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        queue = self.events[(kind, namespace)]
        while True:
            item = await queue.get()
            if isinstance(item, Exception):
                raise item
            yield item

    async def read_namespace(self, name: str) -> dict[str, Any] | None:
        return None

    async def provision(self, step: Step) -> dict[str, Any] | None:
        self.writes[f"{step.verb}_{step.kind.lower()}"] += 1
        key = (step.kind, step.namespace)
        if step.verb is Verb.DELETE:
            self.objects.pop(key, None)
            return None
        if step.verb is Verb.CREATE:
            if key in self.objects:
                return None
            self.uids += 1
            self.objects[key] = copy.deepcopy(dict(step.body or {}))
            self.objects[key]["metadata"]["uid"] = f"uid-{self.uids}"
        else:
            body = cast(dict[str, Any], step.body)
            self.objects[key]["metadata"].setdefault("labels", {}).update(
                body["metadata"]["labels"]
            )
            if "subjects" in body:
                self.objects[key]["subjects"] = body["subjects"]
        return copy.deepcopy(self.objects[key])


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"ns-{name}", "labels": labels}}


def provisioner_for(
    settings: Settings = SETTINGS, busy: bool = False
) -> tuple[Provisioner, FakeKube]:
    fake = FakeKube()
    return Provisioner(settings, cast(Kube, fake), lambda _: busy), fake


async def drain(provisioner: Provisioner) -> None:
    """Reconcile every queued namespace (what the worker does)."""
    while len(provisioner.queue):
        name = await provisioner.queue.get()
        await provisioner.reconcile(name)
        provisioner.queue.done(name)


async def test_every_served_namespace_gets_the_account_from_its_watch_event() -> None:
    provisioner, fake = provisioner_for(Settings(namespaces=("team-*",)))
    provisioner.namespace_event("ADDED", namespace("team-a"))
    provisioner.namespace_event("ADDED", namespace("kube-system"))  # not served
    await drain(provisioner)
    assert set(fake.objects) == {("ServiceAccount", "team-a"), ("RoleBinding", "team-a")}


async def test_a_deleted_or_changed_account_is_put_back() -> None:
    provisioner, fake = provisioner_for()
    provisioner.namespace_event("ADDED", namespace("team-a"))
    await drain(provisioner)
    gone = fake.objects.pop(("ServiceAccount", "team-a"))
    provisioner.object_event("ServiceAccount", "DELETED", gone)
    await drain(provisioner)
    assert fake.objects[("ServiceAccount", "team-a")]["metadata"]["labels"]["longtask.io/runner"]
    assert fake.writes["create_serviceaccount"] == 2
    unmarked = copy.deepcopy(fake.objects[("ServiceAccount", "team-a")])
    del unmarked["metadata"]["labels"]["longtask.io/runner"]
    fake.objects[("ServiceAccount", "team-a")] = unmarked
    provisioner.object_event("ServiceAccount", "MODIFIED", unmarked)
    await drain(provisioner)
    assert fake.writes["patch_serviceaccount"] == 1
    labels = fake.objects[("ServiceAccount", "team-a")]["metadata"]["labels"]
    assert labels["longtask.io/runner"] == "true"


async def test_events_of_other_accounts_are_ignored() -> None:
    provisioner, _ = provisioner_for()
    other = {"metadata": {"name": "default", "namespace": "team-a", "uid": "u"}}
    provisioner.object_event("ServiceAccount", "ADDED", other)
    assert len(provisioner.queue) == 0


async def test_a_namespace_leaving_the_selector_is_cleaned_up_once_its_tasks_end() -> None:
    settings = Settings(namespace_selector=ENABLED)
    provisioner, fake = provisioner_for(settings, busy=True)
    provisioner.namespace_event("ADDED", namespace("team-a", **{"longtask.io/enabled": "true"}))
    provisioner.namespace_event("ADDED", namespace("team-b"))
    await drain(provisioner)
    assert {ns for _, ns in fake.objects} == {"team-a"}
    provisioner.namespace_event("MODIFIED", namespace("team-a"))
    await drain(provisioner)
    assert len(fake.objects) == 2 and provisioner.queue.scheduled == 1  # tasks still run
    provisioner._busy = lambda _: False
    await provisioner.reconcile("team-a")
    assert fake.objects == {}


async def test_ensure_adopts_an_account_created_meanwhile_and_creates_nothing_twice() -> None:
    provisioner, fake = provisioner_for()
    fake.objects[("ServiceAccount", "team-a")] = account(app="mine") | {}
    fake.objects[("ServiceAccount", "team-a")]["metadata"]["namespace"] = "team-a"
    await provisioner.ensure("team-a")  # the views knew nothing yet
    labels = fake.objects[("ServiceAccount", "team-a")]["metadata"]["labels"]
    assert labels == {"app": "mine", "longtask.io/runner": "true"}
    assert fake.writes == {
        "create_serviceaccount": 1,  # found there: AlreadyExists, then read
        "patch_serviceaccount": 1,
        "create_rolebinding": 1,
    }
    await provisioner.ensure("team-a")
    assert sum(fake.writes.values()) == 3


async def test_start_lists_what_exists_in_served_namespaces_and_watches_it() -> None:
    provisioner, fake = provisioner_for(Settings(namespaces=("team-a",)))
    for ns in ("team-a", "team-b"):
        fake.objects[("ServiceAccount", ns)] = provisioning.account(ns, SETTINGS)
    await provisioner.start()
    try:
        assert set(provisioner.accounts) == {"team-a"}
        assert set(fake.lists) == {("ServiceAccount", "team-a"), ("RoleBinding", "team-a")}
    finally:
        await provisioner.stop()


@pytest.mark.parametrize(
    ("namespaces", "scopes"),
    [((), [None]), (("team-*",), [None]), (("!kube-system",), [None]), (("a", "b"), ["a", "b"])],
)
def test_accounts_are_watched_per_namespace_only_when_named(
    namespaces: tuple[str, ...], scopes: list[str | None]
) -> None:
    assert provisioner_for(Settings(namespaces=namespaces))[0].scopes() == scopes


async def test_a_list_drops_an_account_no_event_told_was_deleted() -> None:
    provisioner, fake = provisioner_for()
    provisioner.namespace_event("ADDED", namespace("team-a"))
    await drain(provisioner)
    del fake.objects[("ServiceAccount", "team-a")]  # before any watch saw it
    found, _ = await fake.list_named("ServiceAccount", "", None)
    provisioner.listed("ServiceAccount", None, found)
    assert "team-a" not in provisioner.accounts
    await drain(provisioner)
    assert fake.writes["create_serviceaccount"] == 2


async def test_a_list_of_one_namespace_leaves_the_others_alone() -> None:
    provisioner, _ = provisioner_for(Settings(namespaces=("team-a", "team-b")))
    for ns in ("team-a", "team-b"):
        provisioner.object_event("ServiceAccount", "ADDED", provisioning.account(ns, SETTINGS))
    provisioner.listed("ServiceAccount", "team-a", [])
    assert set(provisioner.accounts) == {"team-b"}


async def test_watch_events_reach_the_view_and_bookmarks_only_move_the_version() -> None:
    provisioner, fake = provisioner_for()
    await provisioner.start()
    try:
        bookmark = {"metadata": {"resourceVersion": "8"}}
        fake.events[("ServiceAccount", None)].put_nowait(("BOOKMARK", bookmark))
        made = provisioning.account("team-a", SETTINGS)
        made["metadata"] |= {"uid": "u1", "resourceVersion": "9"}
        fake.events[("ServiceAccount", None)].put_nowait(("ADDED", made))
        async with asyncio.timeout(5):
            assert await provisioner.queue.get() == "team-a"
        assert provisioner.accounts["team-a"]["metadata"]["uid"] == "u1"
        assert fake.lists[("ServiceAccount", None)] == 1  # the bookmark broke nothing
    finally:
        await provisioner.stop()


async def test_a_watch_too_old_to_resume_lists_again_first() -> None:
    provisioner, fake = provisioner_for()
    provisioner.namespace_event("ADDED", namespace("team-a"))
    await drain(provisioner)
    await provisioner.start()
    try:
        del fake.objects[("ServiceAccount", "team-a")]  # while no watch ran
        fake.events[("ServiceAccount", None)].put_nowait(ApiException(status=410))
        async with asyncio.timeout(5):
            assert await provisioner.queue.get() == "team-a"
        assert fake.lists[("ServiceAccount", None)] == 2
        assert "team-a" not in provisioner.accounts
        await provisioner.reconcile("team-a")
        assert fake.objects[("ServiceAccount", "team-a")]["metadata"]["uid"] == "uid-3"
    finally:
        await provisioner.stop()


async def test_a_create_answered_after_the_watch_saw_its_object_deleted_leaves_it_gone() -> None:
    provisioner, fake = provisioner_for()
    provision = fake.provision

    async def deleted_before_the_answer(step: Step) -> dict[str, Any] | None:
        written = await provision(step)
        if step.kind == "ServiceAccount" and written is not None:
            del fake.objects[("ServiceAccount", "team-a")]
            provisioner.object_event("ServiceAccount", "ADDED", written)
            provisioner.object_event("ServiceAccount", "DELETED", written)
        return written

    fake.provision = deleted_before_the_answer  # type: ignore[method-assign]
    provisioner.namespace_event("ADDED", namespace("team-a"))
    name = await provisioner.queue.get()
    await provisioner.reconcile(name)
    provisioner.queue.done(name)
    assert "team-a" not in provisioner.accounts
    fake.provision = provision  # type: ignore[method-assign]
    await drain(provisioner)
    assert ("ServiceAccount", "team-a") in fake.objects
    assert fake.writes["create_serviceaccount"] == 2
