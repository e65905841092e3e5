"""The tenants of the tenancy tests: a hostile task, and a victim that waits to be released."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
ATTACKS = "tests.integration.tenancy.attacktasks"


def attack(function: str, params: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """The spec of a task running `function` of attacktasks.py (found through PYTHONPATH)."""
    return {
        "task": f"{ATTACKS}:{function}",
        "params": params,
        "env": [{"name": "PYTHONPATH", "value": str(REPO)}],
        "retry": {"maxAttempts": 1},
        **spec,
    }


def victim(release: Path, result: dict[str, Any]) -> dict[str, Any]:
    """A command task that reports progress, waits until the file `release` exists (the local
    node runs pods as processes of this machine: `release` lies in a `pod_visible_dir`), then
    ends with `result`."""
    script = (
        'echo "::progress 10 waiting"; '
        f'while [ ! -e "{release}" ]; do sleep 0.1; done; '
        f"echo '::result {json.dumps(result)}'"
    )
    return {"command": ["sh", "-c", script], "retry": {"maxAttempts": 1}}
