"""In-memory views of the LongTasks and attempt Jobs the operator serves, fed by watch events.

Objects are slimmed when stored (no managedFields or annotations; a finished task drops its params,
command and result), so memory stays bounded with thousands of LongTasks. A stored object is never
replaced by an older resourceVersion of itself: the operator stores the responses of its own
writes, and a watch event from before such a write may still arrive afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from longtask.core import resource, taskqueue
from longtask.core.resource import LongTask

Key = tuple[str, str]  # (namespace, name)

_META_KEYS = (
    "name",
    "namespace",
    "uid",
    "generation",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "labels",
)


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj["metadata"]
    return (str(meta["namespace"]), str(meta["name"]))


def thaw(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): several times faster than
    copy.deepcopy, which a burst of watch events made a tenth of the operator's CPU."""
    if isinstance(value, dict | Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def _slim_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: thaw(meta[k]) for k in _META_KEYS if k in meta}


def slim_task(task: Mapping[str, Any]) -> LongTask:
    """What reconciling needs of a LongTask (as the API server sent it, typed from here on); a
    finished one keeps no payload."""
    # The one place where an object from the API server becomes typed.
    spec = cast(resource.Spec, thaw(dict(task.get("spec") or {})))
    status = cast(resource.Status, thaw(dict(task.get("status") or {})))
    phase = resource.phase_of(status)
    if phase is not None and phase.is_final:
        spec.pop("params", None)
        spec.pop("command", None)
        spec.pop("env", None)
        status.pop("result", None)
    return LongTask(
        apiVersion=task.get("apiVersion", resource.API_VERSION),
        kind=task.get("kind", resource.KIND),
        metadata=cast(resource.ObjectMeta, _slim_meta(task["metadata"])),
        spec=spec,
        status=status,
    )


def slim_job(job: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metadata": _slim_meta(job["metadata"]),
        "status": thaw(dict(job.get("status") or {})),
    }


def _newer_or_equal(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether `new` may replace `old` (another object under the same name always may)."""
    old_meta, new_meta = old["metadata"], new["metadata"]
    if old_meta.get("uid") != new_meta.get("uid"):
        return True
    try:
        return int(new_meta.get("resourceVersion", 0)) >= int(old_meta.get("resourceVersion", 0))
    except ValueError:
        return True  # resourceVersions are opaque in principle; trust the arrival order then


def queue_of_task(task: Mapping[str, Any]) -> Key | None:
    """(namespace, queue) of a LongTask that names a queue."""
    name = (task.get("spec") or {}).get("queue")
    return (str(task["metadata"]["namespace"]), str(name)) if name else None


def queue_of_job(job: Mapping[str, Any]) -> Key | None:
    """(namespace, queue) of a Job counted against a queue (its queue label)."""
    meta = job["metadata"]
    name = (meta.get("labels") or {}).get(taskqueue.LABEL_QUEUE)
    return (str(meta["namespace"]), str(name)) if name else None


class _Index:
    """Objects by (namespace, queue) and then by (namespace, name): a queue's view reads its
    own tasks and Jobs, not every object the operator serves."""

    def __init__(self) -> None:
        self._by_queue: dict[Key, dict[Key, Any]] = {}

    def move(self, key: Key, old: Key | None, new: Key | None, obj: Any) -> None:
        if old is not None and old != new:
            members = self._by_queue.get(old)
            if members is not None:
                members.pop(key, None)
                if not members:
                    del self._by_queue[old]
        if new is not None:
            self._by_queue.setdefault(new, {})[key] = obj

    def of(self, queue: Key) -> list[Any]:
        return list(self._by_queue.get(queue, {}).values())


class Store:
    """LongTasks, attempt Jobs and LongTaskQueues by (namespace, name); tasks and Jobs also by
    their queue."""

    def __init__(self) -> None:
        self._tasks: dict[Key, LongTask] = {}
        self._jobs: dict[Key, dict[str, Any]] = {}
        self._queues: dict[Key, dict[str, Any]] = {}
        self._queue_tasks = _Index()
        self._queue_jobs = _Index()

    def put_task(self, task: Mapping[str, Any]) -> bool:
        """Store a LongTask; False when an older version was offered and ignored."""
        slim = slim_task(task)
        key = key_of(slim)
        held = self._tasks.get(key)
        if held is not None and not _newer_or_equal(held, slim):
            return False
        self._tasks[key] = slim
        old = queue_of_task(held) if held is not None else None
        self._queue_tasks.move(key, old, queue_of_task(slim), slim)
        return True

    def drop_task(self, key: Key, uid: str | None = None) -> None:
        held = self._tasks.get(key)
        if held is not None and (uid is None or held["metadata"].get("uid") == uid):
            del self._tasks[key]
            self._queue_tasks.move(key, queue_of_task(held), None, held)

    def queue_tasks(self, queue: Key) -> list[LongTask]:
        """The LongTasks that name queue `(namespace, name)`."""
        return cast(list[LongTask], self._queue_tasks.of(queue))

    def queue_jobs(self, queue: Key) -> list[dict[str, Any]]:
        """The Jobs counted against queue `(namespace, name)`."""
        return self._queue_jobs.of(queue)

    def task(self, key: Key) -> LongTask | None:
        return self._tasks.get(key)

    def tasks(self) -> Iterator[LongTask]:
        return iter(list(self._tasks.values()))

    def put_job(self, job: Mapping[str, Any]) -> bool:
        slim = slim_job(job)
        key = key_of(slim)
        held = self._jobs.get(key)
        if held is not None and not _newer_or_equal(held, slim):
            return False
        self._jobs[key] = slim
        old = queue_of_job(held) if held is not None else None
        self._queue_jobs.move(key, old, queue_of_job(slim), slim)
        return True

    def drop_job(self, key: Key, uid: str | None = None) -> None:
        held = self._jobs.get(key)
        if held is not None and (uid is None or held["metadata"].get("uid") == uid):
            del self._jobs[key]
            self._queue_jobs.move(key, queue_of_job(held), None, held)

    def job(self, key: Key) -> dict[str, Any] | None:
        return self._jobs.get(key)

    def jobs(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._jobs.values()))

    def put_queue(self, queue: Mapping[str, Any]) -> bool:
        slim = {
            "metadata": _slim_meta(queue["metadata"]),
            "spec": thaw(dict(queue.get("spec") or {})),
            "status": thaw(dict(queue.get("status") or {})),
        }
        key = key_of(slim)
        held = self._queues.get(key)
        if held is not None and not _newer_or_equal(held, slim):
            return False
        self._queues[key] = slim
        return True

    def drop_queue(self, key: Key, uid: str | None = None) -> None:
        held = self._queues.get(key)
        if held is not None and (uid is None or held["metadata"].get("uid") == uid):
            del self._queues[key]

    def queue(self, key: Key) -> dict[str, Any] | None:
        return self._queues.get(key)

    def queues(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._queues.values()))

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def job_count(self) -> int:
        return len(self._jobs)
