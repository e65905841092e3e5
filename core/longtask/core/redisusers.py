"""Redis ACL users of longtask: their names and rules, the least each component needs.

- The operator (`OPERATOR`) writes phase changes, end events, state hashes and dead letters,
  reads heartbeats and the log tails it archives, and creates and removes the task users;
  `ACL SETUSER` lets it make any user, so its password is as sensitive as an admin's.
- The gateway (`GATEWAY`) only reads: streams (XRANGE, XREVRANGE, XREAD, XINFO STREAM, some in
  a MULTI), large results (STRLEN, GETRANGE) and PING; its key pattern is read-only as well
  (`%R~`), so a command added later cannot write by mistake.
- Each task gets a user of its own (`task_username`), created by the operator before the task's
  first Job and removed once it ended: its key pattern is the task's own prefix
  (`longtask:{uid}:*`), its commands the runner's (XADD, HSET, SET, GET, EXPIRE). So a task can
  neither read nor write another task's keys nor the dead-letter stream.

- The default user is off (no one can log in as it, and a connection that has not
  authenticated may run nothing) but keeps every right (`DEFAULT_USER`): Redis replays the
  transactions of its append-only file as the default user and re-checks their rights at
  EXEC, so a default user without rights drops every MULTI/EXEC of the operator at a restart,
  with a log line only (a bug of Redis 7 and Valkey, fixed in their later releases).

A rule list is what `ACL SETUSER <name>` takes after the name, and what an ACL file's
`user <name>` line holds, minus the password (`acl_line` adds a hashed one).
"""

from __future__ import annotations

import hashlib
from typing import Final

from longtask.core import keys

# The ACL file's line of the default user (see the module docstring).
DEFAULT_USER: Final = "user default off resetpass ~* &* +@all"
OPERATOR: Final = "longtask-operator"
GATEWAY: Final = "longtask-gateway"
# Task users are `longtask-task.<namespace>.<uid>`: the namespace lets an operator serving some
# namespaces manage the users of those only (several installs may share one Redis).
TASK_PREFIX: Final = "longtask-task."

# redis-py also sends CLIENT SETINFO on connect and ignores a refusal: it stays out (Redis 7.0
# does not know the command, so an ACL naming it would not load there).
RUNNER_COMMANDS: Final = ("xadd", "hset", "set", "get", "expire")
OPERATOR_COMMANDS: Final = (
    "multi",
    "exec",
    "discard",
    "xadd",
    "hset",
    "hget",
    "expire",
    "xrevrange",
    "acl|setuser",
    "acl|deluser",
    "acl|users",
)
GATEWAY_COMMANDS: Final = (
    "xrange",
    "xrevrange",
    "xread",
    "xinfo|stream",
    "strlen",
    "getrange",
    "multi",
    "exec",
    "discard",
    "ping",
)


def _rules(key_pattern: str, commands: tuple[str, ...]) -> list[str]:
    return ["resetchannels", key_pattern, "-@all", *(f"+{c}" for c in commands)]


def operator_rules() -> list[str]:
    return _rules(f"~{keys.PREFIX}:*", OPERATOR_COMMANDS)


def gateway_rules() -> list[str]:
    return _rules(f"%R~{keys.PREFIX}:*", GATEWAY_COMMANDS)


def task_rules(uid: str) -> list[str]:
    """The rules of a task's user: its own keys, the runner's commands."""
    return _rules(f"~{keys.PREFIX}:{uid}:*", RUNNER_COMMANDS)


def task_username(namespace: str, uid: str) -> str:
    return f"{TASK_PREFIX}{namespace}.{uid}"


def parse_task_username(name: str) -> tuple[str, str] | None:
    """(namespace, uid) of a task user's name, None for any other user."""
    if not name.startswith(TASK_PREFIX):
        return None
    namespace, dot, uid = name[len(TASK_PREFIX) :].rpartition(".")
    return (namespace, uid) if dot and namespace and uid else None


def password_hash(password: str) -> str:
    """The form Redis keeps (`#<sha256 hex>`): an ACL file or a rule list holding it does not
    give the password away."""
    return "#" + hashlib.sha256(password.encode()).hexdigest()


def acl_line(user: str, password: str, rules: list[str]) -> str:
    """One `user` line of a Redis ACL file (`aclfile`)."""
    return " ".join(["user", user, "on", password_hash(password), *rules])
