"""The typed shape of a LongTaskSchedule (core.schedule) against its CRD, and the CRD's
generated parts: the LongTask spec of the template and the IANA time zones."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

from longtask.core import resource, schedule, slots

from tests.fixtures import crdschema
from tests.fixtures.crdschema import object_drift, required_keys

REPO = Path(__file__).parents[3]
CRD = REPO / "deploy/crds/longtask.io_longtaskschedules.yaml"
LONGTASK_CRD = REPO / "deploy/crds/longtask.io_longtasks.yaml"
GENERATOR = REPO / "deploy/tools/schedulecrd.py"


def crd_schema() -> dict[str, Any]:
    return crdschema.crd_schema(CRD, schedule.VERSION)


def test_spec_and_status_types_match_the_crd() -> None:
    properties = crd_schema()["properties"]
    assert object_drift(schedule.ScheduleSpec, properties["spec"], "spec") == []
    assert object_drift(schedule.ScheduleStatus, properties["status"], "status") == []


def test_the_object_types_its_top_level_fields() -> None:
    schema = crd_schema()
    hints = typing.get_type_hints(schedule.LongTaskSchedule)
    assert hints.keys() == schema["properties"].keys()
    assert set(schema["required"]) <= required_keys(schedule.LongTaskSchedule)
    assert set(schema["properties"]["spec"]["required"]) == {"schedule", "template"}


def test_enumerations_and_defaults_match_the_crd() -> None:
    spec = crd_schema()["properties"]["spec"]["properties"]
    assert spec["concurrencyPolicy"]["enum"] == [p.value for p in schedule.ConcurrencyPolicy]
    assert spec["missedRuns"]["enum"] == [p.value for p in schedule.MissedRuns]
    assert spec["timeZone"]["default"] == schedule.DEFAULT_TIME_ZONE
    assert spec["maxMissedRuns"]["maximum"] == schedule.MAX_MISSED_RUNS_LIMIT


def test_the_template_spec_is_the_longtask_spec() -> None:
    template = crd_schema()["properties"]["spec"]["properties"]["template"]
    longtask = crdschema.crd_schema(LONGTASK_CRD, resource.VERSION)["properties"]["spec"]
    copied = dict(template["properties"]["spec"])
    assert copied.pop("description") != longtask.pop("description")
    assert copied == longtask


def test_the_time_zones_are_tzdata_s_and_each_loads() -> None:
    import zoneinfo

    (rule,) = crd_schema()["properties"]["spec"]["properties"]["timeZone"][
        "x-kubernetes-validations"
    ]
    listed = rule["rule"].removeprefix("self in [").removesuffix("]").split(", ")
    names = [name.strip("'") for name in listed]
    assert names == list(slots.zone_names())
    assert {"UTC", "Europe/Berlin", "America/New_York"} <= set(names)
    for name in names:
        zoneinfo.ZoneInfo(name)


def test_the_crd_file_is_what_the_generator_writes() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
