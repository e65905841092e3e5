"""The Job builder: names, owner reference, labels, runner env, hardened pod."""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.parse

from longtask.core import resource, runnerenv
from longtask.operator import credentials, jobs
from longtask.operator.settings import Settings

from tests.fixtures.operator import make_task

SETTINGS = Settings(
    redis_url="redis://longtask-operator:op@r:6379/0",
    runner_redis_url="redis://r:6379/0",
    redis_task_key="k",
)
SHARED = dataclasses.replace(SETTINGS, redis_task_users=False)


def env_of(job: dict) -> dict[str, str]:  # type: ignore[type-arg]
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_job_name_is_task_and_attempt() -> None:
    assert jobs.job_name("demo", 3) == "demo-3"


def test_long_names_are_truncated_to_57_with_a_distinguishing_hash() -> None:
    # 57: the Job controller's pod names are then exactly `<job>-xxxxx` (the API server cuts a
    # generateName prefix past 58 characters), which the status admission policy relies on.
    base = "a" * 63
    first, second = jobs.job_name(base, 1), jobs.job_name(base, 12)
    other = jobs.job_name("a" * 62 + "b", 1)
    assert len(first) == 57 and len(second) == 57
    assert len(jobs.job_name("a" * 55, 1)) == 57  # fits: kept whole
    assert jobs.job_name("a" * 56, 1) != "a" * 56 + "-1"
    assert first.endswith("-1") and second.endswith("-12")
    assert first != other
    assert jobs.job_name(base, 1) == first  # deterministic


def test_job_is_owned_by_the_task_and_labelled() -> None:
    job = jobs.build_job(make_task(), 2, SETTINGS)
    owner = job["metadata"]["ownerReferences"][0]
    assert owner == {
        "apiVersion": "longtask.io/v1alpha1",
        "kind": "LongTask",
        "name": "demo",
        "uid": "uid-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    labels = job["metadata"]["labels"]
    assert labels[resource.LABEL_NAME] == "demo"
    assert labels[resource.LABEL_UID] == "uid-1"
    assert labels[resource.LABEL_ATTEMPT] == "2"
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["name"] == "demo-2"


def test_job_runs_the_runner_once_with_deadline_and_ttl() -> None:
    task = make_task(spec={"command": ["sleep", "1"], "timeoutSeconds": 30})
    spec = jobs.build_job(task, 1, SETTINGS)["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 30
    assert spec["ttlSecondsAfterFinished"] == SETTINGS.job_ttl_seconds
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["command"] == ["longtask-runner"]
    rule = spec["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [3]


def test_no_deadline_without_timeout() -> None:
    assert "activeDeadlineSeconds" not in jobs.build_job(make_task(), 1, SETTINGS)["spec"]


def test_command_task_passes_argv_as_json_and_the_contract_env() -> None:
    task = make_task(spec={"command": ["sh", "-c", "echo 'hi there'"], "params": {"n": 1}})
    env = env_of(jobs.build_job(task, 4, SETTINGS))
    assert json.loads(env[runnerenv.COMMAND]) == ["sh", "-c", "echo 'hi there'"]
    assert runnerenv.TASK not in env
    assert env[runnerenv.NAMESPACE] == "ns"
    assert env[runnerenv.NAME] == "demo"
    assert env[runnerenv.UID] == "uid-1"
    assert env[runnerenv.ATTEMPT] == "4"
    assert json.loads(env[runnerenv.PARAMS]) == {"n": 1}


def test_the_redis_url_comes_from_the_tasks_secret_never_in_clear() -> None:
    job = jobs.build_job(make_task(), 1, SETTINGS)
    container = job["spec"]["template"]["spec"]["containers"][0]
    (entry,) = [e for e in container["env"] if e["name"] == runnerenv.REDIS_URL]
    assert entry == {
        "name": runnerenv.REDIS_URL,
        "valueFrom": {"secretKeyRef": {"name": "longtask-redis-uid-1", "key": "url"}},
    }
    assert credentials.password("k", "uid-1") not in json.dumps(job)


def test_the_secret_holds_the_tasks_own_user_and_goes_with_the_task() -> None:
    secret = jobs.build_redis_secret(make_task(), SETTINGS)
    assert secret["metadata"]["name"] == "longtask-redis-uid-1"
    assert secret["metadata"]["namespace"] == "ns"
    assert (
        secret["metadata"]["ownerReferences"]
        == jobs.build_job(make_task(), 1, SETTINGS)["metadata"]["ownerReferences"]
    )
    assert secret["immutable"] is True
    url = urllib.parse.urlsplit(secret["stringData"]["url"])
    assert (url.hostname, url.port, url.path) == ("r", 6379, "/0")
    assert url.username == "longtask-task.ns.uid-1"
    assert url.password == credentials.password("k", "uid-1")


def test_a_password_is_derived_from_the_key_and_the_uid() -> None:
    first = credentials.password("k", "uid-1")
    assert first == credentials.password("k", "uid-1")  # re-created alike after a restart
    assert first != credentials.password("k", "uid-2")
    assert first != credentials.password("other", "uid-1")
    assert len(base64.urlsafe_b64decode(first + "=")) == 32


def test_without_task_users_every_pod_gets_the_runner_url() -> None:
    env = env_of(jobs.build_job(make_task(), 1, SHARED))
    assert env[runnerenv.REDIS_URL] == "redis://r:6379/0"


def test_python_task_and_user_env_without_reserved_names() -> None:
    task = make_task(
        spec={
            "task": "pkg.mod:fn",
            "env": [{"name": "A", "value": "1"}, {"name": runnerenv.UID, "value": "evil"}],
        }
    )
    env = env_of(jobs.build_job(task, 1, SETTINGS))
    assert env[runnerenv.TASK] == "pkg.mod:fn"
    assert env["A"] == "1"
    assert env[runnerenv.UID] == "uid-1"
    assert env[runnerenv.PARAMS] == "{}"


def test_image_and_account_from_spec_or_defaults() -> None:
    default = jobs.build_job(make_task(), 1, SETTINGS)["spec"]["template"]["spec"]
    assert default["containers"][0]["image"] == "longtask/runner:0.1.0"
    assert default["serviceAccountName"] == "longtask-runner"
    custom = make_task(spec={"command": ["x"], "image": "me/img:1", "serviceAccountName": "sa"})
    pod = jobs.build_job(custom, 1, SETTINGS)["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "me/img:1"
    assert pod["serviceAccountName"] == "sa"


def test_pod_is_hardened() -> None:
    task = make_task(spec={"command": ["x"], "resources": {"limits": {"cpu": "1"}}})
    pod = jobs.build_job(task, 1, SETTINGS)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is True
    assert pod["terminationGracePeriodSeconds"] == 30
    container = pod["containers"][0]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsUser"] == 65532 and sc["runAsGroup"] == 65532
    assert container["resources"] == {"limits": {"cpu": "1"}}
    assert {"name": "scratch", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]


def test_the_stream_limits_reach_the_runner() -> None:
    settings = Settings(events_maxlen=50, logs_maxlen=60, log_line_max_chars=70)
    env = {e["name"]: e.get("value") for e in jobs.runner_env(make_task(), 1, settings)}
    assert env[runnerenv.EVENTS_MAXLEN] == "50"
    assert env[runnerenv.LOGS_MAXLEN] == "60"
    assert env[runnerenv.LOG_LINE_MAX_CHARS] == "70"
