"""The schedules and runs the schedule controller knows, fed by watch events.

A run is a LongTask labelled with its schedule's name and owned by the schedule (by UID, so a
schedule deleted and created again under the same name never counts the old one's runs). The
controller needs little of a run: its name, slot, trigger, phase and how it ended (`Run`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, cast

from longtask.core import resource, schedule
from longtask.core.resource import Phase
from longtask.core.schedule import LongTaskSchedule

from .. import clock
from ..store import Key, key_of

_META_KEYS = (
    "name",
    "namespace",
    "uid",
    "generation",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
)


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a schedule, as its LongTask says."""

    name: str
    uid: str
    owner_uid: str | None
    schedule: str
    slot: dt.datetime | None
    """The slot's time (for a manual run: when it was triggered)."""
    trigger: str
    phase: Phase | None
    created: dt.datetime | None
    completed: dt.datetime | None
    message: str = ""
    resource_version: int = 0

    @property
    def finished(self) -> bool:
        return self.phase is not None and self.phase.is_final

    @property
    def order(self) -> tuple[dt.datetime, str]:
        """Sort key: slot (or creation) time, then name."""
        when = self.slot or self.created or dt.datetime.min.replace(tzinfo=dt.UTC)
        return (when, self.name)

    @property
    def ended(self) -> dt.datetime:
        """When it finished (its creation when the status has no completion time)."""
        return self.completed or self.created or dt.datetime.min.replace(tzinfo=dt.UTC)


def run_of(task: Mapping[str, Any]) -> Run | None:
    """The run a LongTask is, or None when it is not labelled with a schedule."""
    meta = task.get("metadata") or {}
    labels = meta.get("labels") or {}
    name_of_schedule = labels.get(schedule.LABEL_SCHEDULE)
    if not name_of_schedule:
        return None
    owners = [
        o.get("uid")
        for o in meta.get("ownerReferences") or []
        if o.get("kind") == schedule.KIND and o.get("controller")
    ]
    status = task.get("status") or {}
    try:
        version = int(meta.get("resourceVersion", 0))
    except ValueError:
        version = 0
    return Run(
        name=str(meta["name"]),
        uid=str(meta.get("uid", "")),
        owner_uid=owners[0] if owners else None,
        schedule=str(name_of_schedule),
        slot=schedule.parse_label_time(str(labels.get(schedule.LABEL_SCHEDULED_TIME, ""))),
        trigger=str(labels.get(schedule.LABEL_TRIGGER, "")),
        phase=resource.phase_of(cast(resource.Status, status)),
        created=clock.parse_time(meta.get("creationTimestamp")),
        completed=clock.parse_time(status.get("completionTime")),
        message=str(status.get("message") or "")[:200],
        resource_version=version,
    )


def slim_schedule(obj: Mapping[str, Any]) -> LongTaskSchedule:
    """What deciding needs of a schedule (as the API server sent it, typed from here on)."""
    meta = obj["metadata"]
    return cast(
        LongTaskSchedule,
        {
            "apiVersion": obj.get("apiVersion", schedule.API_VERSION),
            "kind": obj.get("kind", schedule.KIND),
            "metadata": {k: copy.deepcopy(meta[k]) for k in _META_KEYS if k in meta},
            "spec": copy.deepcopy(dict(obj.get("spec") or {})),
            "status": copy.deepcopy(dict(obj.get("status") or {})),
        },
    )


def _version(obj: Mapping[str, Any]) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion", 0))
    except ValueError:
        return 0


class Store:
    """Schedules by (namespace, name); runs by (namespace, schedule name) then run name."""

    def __init__(self) -> None:
        self._schedules: dict[Key, LongTaskSchedule] = {}
        self._runs: dict[Key, dict[str, Run]] = {}

    def put_schedule(self, obj: Mapping[str, Any]) -> bool:
        """Store a schedule; False when an older version of the same object was offered."""
        slim = slim_schedule(obj)
        key = key_of(slim)
        held = self._schedules.get(key)
        if (
            held is not None
            and held["metadata"].get("uid") == slim["metadata"].get("uid")
            and _version(held) > _version(slim)
        ):
            return False
        self._schedules[key] = slim
        return True

    def drop_schedule(self, key: Key, uid: str | None = None) -> None:
        held = self._schedules.get(key)
        if held is not None and (uid is None or held["metadata"].get("uid") == uid):
            del self._schedules[key]

    def schedule(self, key: Key) -> LongTaskSchedule | None:
        return self._schedules.get(key)

    def schedules(self) -> Iterator[LongTaskSchedule]:
        return iter(list(self._schedules.values()))

    def put_run(self, namespace: str, run: Run) -> None:
        runs = self._runs.setdefault((namespace, run.schedule), {})
        held = runs.get(run.name)
        if (
            held is not None
            and held.uid == run.uid
            and held.resource_version > run.resource_version
        ):
            return
        runs[run.name] = run

    def drop_run(self, namespace: str, run: Run) -> None:
        runs = self._runs.get((namespace, run.schedule), {})
        held = runs.get(run.name)
        if held is not None and held.uid == run.uid:
            del runs[run.name]
            if not runs:
                self._runs.pop((namespace, run.schedule), None)

    def runs(self, key: Key, owner_uid: str) -> list[Run]:
        """The runs of the schedule at `key` owned by the schedule of that UID, in slot order."""
        found = [r for r in self._runs.get(key, {}).values() if r.owner_uid == owner_uid]
        return sorted(found, key=lambda r: r.order)
