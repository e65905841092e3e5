"""Redis writes of the operator: what is written, and that an outage keeps them for later."""

from __future__ import annotations

import socket

from longtask.core import deadletters, events, keys
from longtask.core.resource import Phase, Reason, Status
from longtask.operator import publishing
from longtask.operator.reconcile import Transition


def test_a_final_transition_writes_status_end_and_expiries() -> None:
    moves = [
        Transition(Phase.RUNNING, Phase.FAILED, Reason.ATTEMPTS_EXHAUSTED, "all failed", 3),
    ]
    dead = deadletters.DeadLetter(
        namespace="ns", name="t", uid="u", attempts=3, reason="AttemptFailed", error="e", ts=7
    )
    commands = publishing.task_commands("u", moves, dead)
    xadds = [c for c in commands if c.op == "xadd"]
    assert [c.key for c in xadds] == [keys.events("u"), keys.events("u"), keys.DEADLETTER]
    status, end = (events.decode(dict(c.fields or {})) for c in xadds[:2])
    assert (status["type"], status["phase"], status["attempt"]) == ("status", "Failed", 3)
    assert (end["type"], end["reason"]) == ("end", "AttemptsExhausted")
    assert deadletters.decode(xadds[2].fields or {}) == dead
    expired = {c.key for c in commands if c.op == "expire"}
    assert keys.events("u") in expired and keys.state("u") in expired
    hset = next(c for c in commands if c.op == "hset")
    assert dict(hset.fields or {}) == {keys.STATE_PHASE: "Failed", keys.STATE_ATTEMPT: "3"}


def test_a_non_final_transition_writes_no_end() -> None:
    moves = [Transition(None, Phase.PENDING, Reason.JOB_CREATED, "m", 1)]
    commands = publishing.task_commands("u", moves, None)
    assert [c.op for c in commands] == ["xadd", "hset"]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_writes_are_kept_while_redis_is_unreachable() -> None:
    errors: list[int] = []
    publisher = publishing.Publisher(
        f"redis://127.0.0.1:{unused_port()}/0", on_error=lambda: errors.append(1)
    )
    moves = [Transition(None, Phase.PENDING, Reason.JOB_CREATED, "m", 1)]
    publisher.submit(publishing.task_commands("u", moves, None))
    assert not await publisher.flush()
    assert publisher.backlog == 2 and errors == [1]
    assert await publisher.heartbeats(["u"]) is None
    await publisher.close()


async def test_without_a_url_nothing_is_written_or_read() -> None:
    publisher = publishing.Publisher("")
    publisher.submit([publishing.Command("expire", "k", number=1)])
    assert publisher.backlog == 0 and not publisher.enabled
    assert await publisher.heartbeats(["u"]) is None


def test_repair_writes_the_missed_final_phase_with_its_end() -> None:
    status = Status(phase="Succeeded", reason="Completed", message="done", attempt=2)
    commands = publishing.repair_commands("u1", status, published_phase="Running")
    written = [events.decode(c.fields or {}) for c in commands if c.op == "xadd"]
    assert [e["type"] for e in written] == ["status", "end"]
    assert all(e["phase"] == "Succeeded" and e["attempt"] == 2 for e in written)
    assert written[0]["reason"] == "Completed" and written[0]["message"] == "done"
    state = next(c for c in commands if c.op == "hset")
    assert state.fields == {keys.STATE_PHASE: "Succeeded", keys.STATE_ATTEMPT: "2"}


def test_repair_writes_nothing_when_redis_has_the_phase_or_there_is_none() -> None:
    assert publishing.repair_commands("u1", {"phase": "Failed"}, published_phase="Failed") == []
    assert publishing.repair_commands("u1", {}, published_phase=None) == []


def test_repair_of_a_non_final_phase_writes_no_end_and_tolerates_unknown_reasons() -> None:
    status = Status(phase="Running", reason="SomethingNew", attempt=1)
    commands = publishing.repair_commands("u1", status, published_phase=None)
    written = [events.decode(c.fields or {}) for c in commands if c.op == "xadd"]
    assert [e["type"] for e in written] == ["status"]
    assert written[0]["phase"] == "Running"
