"""The Redis ACL users' names and rules."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from longtask.core import keys, redisusers


def test_a_task_username_names_its_namespace_and_uid() -> None:
    name = redisusers.task_username("team-a", "0b5c-11")
    assert name == "longtask-task.team-a.0b5c-11"
    assert redisusers.parse_task_username(name) == ("team-a", "0b5c-11")


def test_other_users_are_no_task_users() -> None:
    for name in ("default", redisusers.OPERATOR, redisusers.GATEWAY, "longtask-task.", "admin"):
        assert redisusers.parse_task_username(name) is None


def test_a_task_reaches_only_its_own_keys_with_the_runners_commands() -> None:
    rules = redisusers.task_rules("u1")
    assert [r for r in rules if r.startswith(("~", "%"))] == [f"~{keys.PREFIX}:u1:*"]
    assert keys.events("u1").startswith(f"{keys.PREFIX}:u1:")
    assert "-@all" in rules and "resetchannels" in rules
    assert {r[1:] for r in rules if r.startswith("+")} == {"xadd", "hset", "set", "get", "expire"}


def test_the_gateway_only_reads() -> None:
    rules = redisusers.gateway_rules()
    assert f"%R~{keys.PREFIX}:*" in rules
    commands = {r[1:] for r in rules if r.startswith("+")}
    assert commands == {"xrange", "xrevrange", "xread", "xinfo|stream", "strlen", "getrange"} | {
        "multi",
        "exec",
        "discard",
        "ping",
    }


def test_an_acl_line_holds_the_password_hashed() -> None:
    line = redisusers.acl_line("u", "s3cret", ["~k:*", "+get"])
    assert "s3cret" not in line
    assert line == f"user u on #{hashlib.sha256(b's3cret').hexdigest()} ~k:* +get"


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("doc", ["docs/install.md", "charts/longtask/README.md"])
def test_the_docs_give_the_acl_lines_of_the_code(doc: str) -> None:
    guide = (REPO / doc).read_text()
    for user, password, rules in [
        (redisusers.OPERATOR, "OPERATOR_PASSWORD", redisusers.operator_rules()),
        (redisusers.GATEWAY, "GATEWAY_PASSWORD", redisusers.gateway_rules()),
    ]:
        assert " ".join(["user", user, "on", f">{password}", *rules]) + "\n" in guide
    assert f"{redisusers.DEFAULT_USER}" in guide


def test_the_install_guide_gives_the_task_users_rules() -> None:
    guide = (REPO / "docs" / "install.md").read_text()
    task = " ".join(redisusers.task_rules("<uid>"))
    assert f"reset on #<sha256>\nresetchannels {task.removeprefix('resetchannels ')}`" in guide
