"""The operator's raw JSON calls (`Kube`, through `longtask.kubeclient.rawjson`), against a small
HTTP server standing in for the API server: the paths, queries, content types and bodies of the
per-task calls, the statuses each treats as absent (a Job or Secret that exists, an object that
is gone), its writes counted, its timeout and its decoder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.core import resource
from longtask.operator import kube
from longtask.operator.kube import Kube

from tests.fixtures.apistandin import Seen, standing_in, status, timeouts_of

JOBS = "/apis/batch/v1/namespaces/ns/jobs"
TASKS = f"/apis/{resource.API_VERSION}/namespaces/ns/longtasks"


async def answer(request: web.Request, body: Any) -> web.Response:
    """Objects named `exists` exist already, `gone` are gone, `broken` fail; others echo."""
    name = ((body or {}).get("metadata") or {}).get("name") or request.path.split("/")[-1]
    if name == "gone" or request.path.endswith("/gone/status"):
        return status(404, "not found")
    if name == "exists":
        return status(409, "already exists")
    if name == "broken":
        return status(500, "internal error")
    if request.method == "GET" and request.path.endswith("/pods"):
        return web.json_response({"items": [{"metadata": {"name": "p"}}]})
    return web.json_response(body if body is not None else {"metadata": {"name": name}})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Kube, Seen]]:
    async with standing_in(answer) as (configuration, seen):
        api = client.ApiClient(configuration)
        yield Kube(api), seen
        await api.close()


def job(name: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "ns"}}


async def test_creating_a_job_that_exists_answers_none(server: tuple[Kube, Seen]) -> None:
    operator, seen = server
    assert await operator.create_job(job("a-1")) == job("a-1")
    assert await operator.create_job(job("exists")) is None
    assert [(s["method"], s["path"], s["query"]) for s in seen] == [
        ("POST", JOBS, {"fieldManager": kube.COMPONENT}),
    ] * 2
    assert seen[0]["body"] == job("a-1") and seen[0]["auth"] == "Bearer secret"
    assert operator.writes["create_job"] == 2


async def test_reads_and_deletes_of_what_is_gone_answer_none(server: tuple[Kube, Seen]) -> None:
    operator, seen = server
    assert await operator.read_job("ns", "gone") is None
    await operator.delete_job("ns", "gone")
    assert await operator.read_service_account("ns", "gone") is None
    assert seen[1]["body"] == {"propagationPolicy": "Background"}


async def test_a_status_patch_is_a_merge_patch_and_none_once_the_task_is_gone(
    server: tuple[Kube, Seen],
) -> None:
    operator, seen = server
    patch: resource.Status = {"phase": "Running", "progress": 5}
    assert await operator.patch_status("ns", "a", patch) == {"status": dict(patch)}
    assert await operator.patch_status("ns", "gone", patch) is None
    assert (seen[0]["method"], seen[0]["path"]) == ("PATCH", f"{TASKS}/a/status")
    assert seen[0]["type"] == "application/merge-patch+json"
    assert seen[0]["query"] == {"fieldManager": kube.COMPONENT}
    assert operator.writes["patch_status"] == 2


async def test_deleting_a_task_names_its_uid_and_forgives_a_newer_one(
    server: tuple[Kube, Seen],
) -> None:
    operator, seen = server
    await operator.delete_task("ns", "exists", "uid-1")  # 409: another incarnation
    assert (seen[0]["method"], seen[0]["path"]) == ("DELETE", f"{TASKS}/exists")
    assert seen[0]["body"] == {"preconditions": {"uid": "uid-1"}, "propagationPolicy": "Background"}


async def test_pods_are_listed_by_their_jobs_label(server: tuple[Kube, Seen]) -> None:
    operator, seen = server
    assert await operator.list_pods("ns", "a-1") == [{"metadata": {"name": "p"}}]
    assert seen[0]["query"] == {"labelSelector": "batch.kubernetes.io/job-name=a-1"}


async def test_other_failures_raise(server: tuple[Kube, Seen]) -> None:
    operator, _ = server
    with pytest.raises(ApiException) as raised:
        await operator.read_job("ns", "broken")
    assert raised.value.status == 500


async def test_calls_wait_30_s_and_decode_with_orjson(
    server: tuple[Kube, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    operator, _ = server
    given = timeouts_of(operator.api, monkeypatch)
    await operator.read_job("ns", "a-1")
    assert given == [kube.REQUEST_TIMEOUT_SECONDS] == [30]
    assert operator.loads is orjson.loads


async def test_secrets_events_and_queues_go_to_their_paths(server: tuple[Kube, Seen]) -> None:
    operator, seen = server
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}
    await operator.create_secret(secret)
    task = {"metadata": {"name": "a", "namespace": "ns", "uid": "u"}}
    await operator.post_event(task, "Normal", "Started", "started")
    assert await operator.read_queue("ns", "gone") is None
    await operator.patch_queue_status("ns", "q", {"running": 1})
    queues = "/apis/longtask.io/v1alpha1/namespaces/ns/longtaskqueues"
    assert [(s["method"], s["path"]) for s in seen] == [
        ("POST", "/api/v1/namespaces/ns/secrets"),
        ("POST", "/api/v1/namespaces/ns/events"),
        ("GET", f"{queues}/gone"),
        ("PATCH", f"{queues}/q/status"),
    ]
