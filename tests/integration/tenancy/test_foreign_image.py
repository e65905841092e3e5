"""Attack: a task names an image of its own choosing (a miner, a shell with tools). Only images
matching the operator's allowed patterns run (by default the runner image's registry path): the
gateway answers 422 naming the field, and the operator refuses a LongTask made with kubectl
(InvalidSpec) before any Job."""

from __future__ import annotations

import pytest

from tests.fixtures.gateway import Gateway
from tests.fixtures.operator import Tasks

pytestmark = pytest.mark.usefixtures("operator_proc")

FOREIGN = "docker.io/someone/miner:latest"


def test_a_foreign_image_is_refused_at_submit_and_by_the_operator(
    gateway: Gateway, tasks: Tasks
) -> None:
    with gateway.client() as http:
        refused = http.post(
            f"/v1/namespaces/{tasks.namespace}/tasks",
            json={"name": "mine", "command": ["true"], "image": FOREIGN},
        )
    assert refused.status_code == 422, refused.text
    (detail,) = refused.json()["details"]
    assert detail["field"] == "body.image"
    assert (
        f"'{FOREIGN}' is not an allowed image (allowed: docker.io/longtask/*)"
        in (detail["message"])
    )
    assert not tasks.exists("mine")

    tasks.create("by-kubectl", {"command": ["true"], "image": FOREIGN})
    status = tasks.wait_final("by-kubectl")["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "InvalidSpec")
    assert f"spec.image: '{FOREIGN}' is not an allowed image" in status["message"]
    assert tasks.jobs(tasks.get("by-kubectl")["metadata"]["uid"]) == []


def test_an_image_beside_the_runner_image_runs(tasks: Tasks) -> None:
    # The local node runs processes: the image is recorded, the runner installed here runs.
    tasks.create("beside", {"command": ["true"], "image": "longtask/my-tasks:1"})
    assert tasks.wait_final("beside")["status"]["phase"] == "Succeeded"
