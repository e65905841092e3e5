"""The in-memory store: slim objects, no regression to older resourceVersions."""

from __future__ import annotations

from longtask.core import taskqueue
from longtask.operator.store import Store, slim_task

from tests.fixtures.operator import make_job, make_task


def test_finished_tasks_keep_no_payload() -> None:
    big = {"blob": "x" * 60_000}
    running = slim_task(
        make_task(spec={"command": ["x"], "params": big}, status={"phase": "Running"})
    )
    assert running["spec"]["params"] == big
    done = slim_task(
        make_task(
            spec={"command": ["x"], "params": big},
            status={"phase": "Succeeded", "result": big},
        )
    )
    assert "params" not in done["spec"] and "command" not in done["spec"]
    assert "result" not in done["status"] and done["status"]["phase"] == "Succeeded"


def test_managed_fields_and_annotations_are_not_kept() -> None:
    task = make_task()
    task["metadata"]["managedFields"] = [{"manager": "kubectl"}]  # type: ignore[typeddict-unknown-key]
    task["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    slim = slim_task(task)
    assert "managedFields" not in slim["metadata"] and "annotations" not in slim["metadata"]


def test_an_older_version_never_replaces_a_newer_one() -> None:
    store = Store()
    newer = make_task(status={"phase": "Running"})
    newer["metadata"]["resourceVersion"] = "12"
    older = make_task(status={"phase": "Pending"})
    older["metadata"]["resourceVersion"] = "11"
    assert store.put_task(newer)
    assert not store.put_task(older)
    held = store.task(("ns", "demo"))
    assert held is not None and held["status"]["phase"] == "Running"


def test_a_new_incarnation_replaces_the_old_one() -> None:
    store = Store()
    old = make_task(uid="a")
    old["metadata"]["resourceVersion"] = "50"
    store.put_task(old)
    assert store.put_task(make_task(uid="b"))
    held = store.task(("ns", "demo"))
    assert held is not None and held["metadata"]["uid"] == "b"
    store.drop_task(("ns", "demo"), uid="a")  # a late DELETED of the old one
    assert store.task(("ns", "demo")) is not None
    store.drop_task(("ns", "demo"), uid="b")
    assert store.task(("ns", "demo")) is None


def test_jobs_are_stored_by_namespace_and_name() -> None:
    store = Store()
    store.put_job(make_job("demo-1", active=1))
    job = store.job(("ns", "demo-1"))
    assert job is not None and job["status"] == {"active": 1}
    store.drop_job(("ns", "demo-1"))
    assert store.job_count == 0


def test_tasks_and_jobs_are_indexed_by_their_queue() -> None:
    store = Store()
    store.put_task(make_task("a", spec={"command": ["x"], "queue": "q"}))
    store.put_task(make_task("b", uid="uid-b", spec={"command": ["x"], "queue": "q"}))
    store.put_task(make_task("c", uid="uid-c", spec={"command": ["x"]}))
    job = make_job("a-1")
    job["metadata"]["labels"][taskqueue.LABEL_QUEUE] = "q"
    store.put_job(job)
    store.put_job(make_job("c-1", task_uid="uid-c"))
    assert sorted(t["metadata"]["name"] for t in store.queue_tasks(("ns", "q"))) == ["a", "b"]
    assert [j["metadata"]["name"] for j in store.queue_jobs(("ns", "q"))] == ["a-1"]
    assert store.queue_tasks(("other", "q")) == []
    # A task that moves to another queue, and one dropped, leave the index.
    moved = make_task("b", uid="uid-b", spec={"command": ["x"], "queue": "r"})
    moved["metadata"]["resourceVersion"] = "11"
    store.put_task(moved)
    store.drop_task(("ns", "a"))
    store.drop_job(("ns", "a-1"))
    assert store.queue_tasks(("ns", "q")) == [] and store.queue_jobs(("ns", "q")) == []
    assert [t["metadata"]["name"] for t in store.queue_tasks(("ns", "r"))] == ["b"]
