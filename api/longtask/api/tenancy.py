"""What a task may run as and from, checked at submit as the operator checks it (422 naming the
field instead of a task that ends InvalidSpec): an image matching the allowed patterns, and a
service account of the namespace marked for longtask use (core's admission has the rules).

The runner's own account needs no look-up: the operator provisions it where tasks may run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from longtask.api.runtime import Runtime
from longtask.core import admission


async def problems(
    runtime: Runtime, namespace: str, spec: Mapping[str, Any]
) -> list[admission.Problem]:
    """Why `spec` may not run in `namespace` as whom it names or from the image it names."""
    settings = runtime.settings
    found: list[admission.Problem] = []
    image = admission.image_problem(spec.get("image"), settings.image_patterns)
    if image is not None:
        found.append(image)
    account = spec.get("serviceAccountName")
    if account is not None and account != settings.runner_service_account:
        labels = await runtime.kube.service_account_labels(namespace, str(account))
        problem = admission.service_account_problem(str(account), namespace, labels)
        if problem is not None:
            found.append(problem)
    return found
