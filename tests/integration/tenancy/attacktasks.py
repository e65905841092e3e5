"""Tasks that act as a hostile tenant from inside their own pod (run by the tenancy tests).

Each talks to the API server as the runner does, with its pod's own service-account credentials
(`longtask.runner.credentials`), and returns what the API server answered as its result: a task
can always write its own result, which is what the tests read.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from longtask.core import resource, runnerenv
from longtask.runner import credentials


def patch_status(name: str, status: dict[str, Any]) -> dict[str, Any]:
    """Merge-patch the status of the LongTask `name` of the pod's namespace; the answer's code
    and message."""
    found = credentials.from_environ()
    namespace = os.environ[runnerenv.NAMESPACE]
    path = (
        f"/apis/{resource.GROUP}/{resource.VERSION}/namespaces/{namespace}"
        f"/{resource.PLURAL}/{name}/status"
    )
    with httpx.Client(base_url=found.server, verify=found.ssl_context(), timeout=10) as http:
        answer = http.patch(
            path,
            content=json.dumps({"status": status}),
            headers={
                "Authorization": f"Bearer {found.bearer()}",
                "Content-Type": "application/merge-patch+json",
            },
        )
    message = answer.json().get("message", "") if answer.status_code >= 400 else ""
    return {"code": answer.status_code, "message": message}


def patch_statuses(_ctx: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """params: `patches`, a list of {"task": name or null for the task itself, "status": {...}},
    tried in order."""
    own = os.environ[runnerenv.NAME]
    return [patch_status(p.get("task") or own, p["status"]) for p in params["patches"]]
