"""The frame of the Redis attack tests: a victim task that runs until released, an attacker task
of the same namespace given the victim's UID, and what must hold of the victim afterwards.

Tasks run in pods of the local node through the real runner, each with the Redis credentials the
operator made for it; the test reads and writes Redis as the admin.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import redis
from longtask.core import events, keys, outputs

from tests.fixtures.operator import Tasks
from tests.fixtures.waiting import wait_for
from tests.integration.tenancy import redistasks

REPO = Path(__file__).resolve().parents[3]
MODULE = "tests.integration.tenancy.redistasks"


def python_task(function: str, params: dict[str, Any]) -> dict[str, Any]:
    """A one-attempt Python task of `redistasks` (found through PYTHONPATH)."""
    return {
        "task": f"{MODULE}:{function}",
        "params": params,
        "env": [{"name": "PYTHONPATH", "value": str(REPO)}],
        "retry": {"maxAttempts": 1},
    }


def stream(r: redis.Redis, uid: str) -> list[dict[str, Any]]:
    entries: list[tuple[str, dict[str, str]]] = r.xrange(keys.events(uid))  # type: ignore[assignment]
    return [events.decode(fields) for _, fields in entries]


class Victim:
    """A task holding a checkpoint and a secret in its params, running until released."""

    def __init__(self, tasks: Tasks, r: redis.Redis, name: str = "victim") -> None:
        self.tasks, self.redis, self.name = tasks, r, name
        self.secret = secrets.token_hex(16)
        created = tasks.create(name, python_task("victim", {"secret": self.secret}))
        self.uid: str = created["metadata"]["uid"]
        self.deadletters = r.xlen(keys.DEADLETTER)
        wait_for(self._checkpointed, 60, f"{name} running with its checkpoint in Redis")

    def _checkpointed(self) -> bool:
        phase = (self.tasks.get(self.name).get("status") or {}).get("phase")
        return phase == "Running" and self.redis.get(keys.checkpoint(self.uid)) is not None

    def release_and_check(self) -> None:
        """It finishes with its true status, result and events, and nothing forged reached it."""
        self.redis.set(redistasks.release_key(self.uid), "1")
        status = self.tasks.wait_final(self.name, timeout=60)["status"]
        assert status["phase"] == "Succeeded", status
        result = json.loads(str(self.redis.get(status["resultRef"])))
        assert result["secret"] == self.secret
        state, _ = outputs.decode_checkpoint(str(self.redis.get(keys.checkpoint(self.uid))))
        assert json.loads(state) == {"secret": self.secret}

        def ended() -> list[dict[str, Any]] | None:
            found = stream(self.redis, self.uid)
            return found if any(e["type"] == "end" for e in found) else None

        found = wait_for(ended, 30, f"the end event of {self.name}")
        assert [e.get("phase") for e in found if e["type"] == "end"] == ["Succeeded"]
        assert not [e for e in found if "forged" in json.dumps(e)]
        assert {e["attempt"] for e in found} == {1}
        assert self.redis.hget(keys.state(self.uid), keys.STATE_PHASE) == "Succeeded"
        letters: list[tuple[str, dict[str, str]]] = self.redis.xrange(keys.DEADLETTER)  # type: ignore[assignment]
        assert not [f for _, f in letters if self.uid in json.dumps(f)]


def attack(tasks: Tasks, r: redis.Redis, victim: Victim, *attacks: str) -> dict[str, str]:
    """Runs the attacker task against `victim`; what Redis answered to each attack. Its own
    writes worked and reached its own stream."""
    params = {"victim": victim.uid, "attacks": list(attacks)}
    uid = tasks.create("attacker", python_task("attack", params))["metadata"]["uid"]
    status = tasks.wait_final("attacker", timeout=60)["status"]
    assert status["phase"] == "Succeeded", status
    answers: dict[str, str] = status["result"]
    assert answers["own_xadd_events"] == "allowed"
    assert answers["own_get_checkpoint"] == "allowed"
    assert "own write" in [e.get("message") for e in stream(r, uid)]
    return answers


def refused(answer: str) -> bool:
    return answer.startswith("NOPERM")
