"""Each task's Redis user: made before its Job with a Secret owned by the task, handed to the pod
through the Secret only, removed once the task has ended or is deleted."""

from __future__ import annotations

import json

import redis
from kubernetes import client
from longtask.core import redisusers

from tests.fixtures.operator import OperatorProcess, Tasks
from tests.fixtures.waiting import wait_for

HOLD = {"command": ["sh", "-c", 'echo "::progress 10 holding"; sleep 600']}


def users(r: redis.Redis) -> set[str]:
    return {str(name) for name in r.acl_users()}


def secret_exists(tasks: Tasks, name: str) -> bool:
    try:
        tasks.core.read_namespaced_secret(name, tasks.namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_a_tasks_user_lives_from_its_job_to_its_end(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    created = tasks.create("short", {"command": ["sh", "-c", "echo '::result {\"ok\": 1}'"]})
    uid = created["metadata"]["uid"]
    user = redisusers.task_username(tasks.namespace, uid)
    (job,) = wait_for(lambda: tasks.jobs(uid), 30, "the Job")
    secret = tasks.core.read_namespaced_secret(f"longtask-redis-{uid}", tasks.namespace)
    assert [o.uid for o in secret.metadata.owner_references] == [uid]
    assert secret.immutable is True
    env = job.spec.template.spec.containers[0].env
    (url,) = [e for e in env if e.name == "LONGTASK_REDIS_URL"]
    assert url.value is None and url.value_from.secret_key_ref.name == secret.metadata.name
    job_text = json.dumps(client.ApiClient().sanitize_for_serialization(job))
    assert "longtask-task." not in job_text  # neither user nor password in the Job
    assert tasks.wait_final("short")["status"]["phase"] == "Succeeded"
    wait_for(lambda: user not in users(redis_client), 30, "the user removed after the end")


def test_a_deleted_tasks_user_and_secret_go(
    operator_proc: OperatorProcess, tasks: Tasks, redis_client: redis.Redis
) -> None:
    uid = tasks.create("held", HOLD)["metadata"]["uid"]
    user = redisusers.task_username(tasks.namespace, uid)
    tasks.wait_phase("held", {"Running"})
    assert user in users(redis_client)
    tasks.delete("held")
    wait_for(lambda: user not in users(redis_client), 30, "the user removed after deletion")
    wait_for(
        lambda: not secret_exists(tasks, f"longtask-redis-{uid}"),
        60,
        "the Secret collected with its task",
    )
