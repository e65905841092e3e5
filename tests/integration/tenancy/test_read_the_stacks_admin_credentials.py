"""A process-mode task goes for the local stack's admin credentials: the admin kubeconfig, the
CA key, the env file with the Redis admin's password, the Redis ACL file, and etcd without a
client certificate. Each is out of its reach (a user of its own per pod: the node runs as
root)."""

from __future__ import annotations

import os
import re

import pytest
from longtask.devstack.stack import Stack

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.integration.tenancy.redisattacks import python_task


@pytest.mark.skipif(
    os.environ.get("LONGTASK_TEST_STACK") == "reuse",
    reason="reads the paths of the session's own stack",
)
@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="without root the local node runs every pod as its own user (deploy/images/README.md)",
)
def test_a_task_cannot_reach_the_stacks_admin_credentials(
    operator_proc: OperatorProcess, tasks: Tasks, stack: Stack
) -> None:
    state = stack.state_dir
    files = [
        str(stack.kubeconfig),
        str(state / "pki" / "ca.key"),
        str(state / "env"),
        str(state / "stack.json"),
        str(state / "redis" / "users.acl"),
    ]
    assert all(os.path.exists(f) for f in files)  # the test's own view: they are there
    etcd = re.search(r"--listen-client-urls=https://([^ ,]+)", " ".join(stack.procs["etcd"].argv))
    assert etcd is not None
    params = {"files": files, "etcd": etcd.group(1)}
    tasks.create("burglar", python_task("reach_credentials", params))
    status = tasks.wait_final("burglar", timeout=60)["status"]
    assert status["phase"] == "Succeeded", status
    found = status["result"]
    assert {f: found[f] for f in files} == dict.fromkeys(files, "PermissionError"), found
    assert found["etcd"] != "answered", found
