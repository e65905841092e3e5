"""Operator settings from the environment."""

from __future__ import annotations

import pytest
from longtask.operator import settings


def test_defaults() -> None:
    got = settings.from_env({})
    assert got.runner_image == "longtask/runner:0.1.0"
    assert got.runner_service_account == "longtask-runner"
    assert got.metrics_port == 8080 and got.namespaces == () and got.redis_url == ""


def test_values_from_the_environment() -> None:
    got = settings.from_env(
        {
            "LONGTASK_REDIS_URL": "redis://r/0",
            "LONGTASK_RUNNER_IMAGE": "img:2",
            "LONGTASK_RUNNER_SERVICE_ACCOUNT": "sa",
            "LONGTASK_METRICS_PORT": "9000",
            "LONGTASK_NAMESPACES": " a, b ,,",
            "LONGTASK_JOB_TTL_SECONDS": "60",
        }
    )
    assert got.redis_url == got.runner_redis_url == "redis://r/0"
    assert (got.runner_image, got.runner_service_account) == ("img:2", "sa")
    assert got.metrics_port == 9000 and got.namespaces == ("a", "b") and got.job_ttl_seconds == 60


def test_redis_url_falls_back_to_redis_url() -> None:
    assert settings.from_env({"REDIS_URL": "redis://x/1"}).redis_url == "redis://x/1"


def test_a_malformed_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="LONGTASK_METRICS_PORT"):
        settings.from_env({"LONGTASK_METRICS_PORT": "eighty"})


def test_exclusions_make_one_kopf_pattern() -> None:
    got = settings.from_env({"LONGTASK_NAMESPACES": "!kube-*, !lt-op-*"})
    assert got.namespaces == ("!kube-*,!lt-op-*",)


def test_tenancy_settings_from_the_environment() -> None:
    got = settings.from_env(
        {
            "LONGTASK_NAMESPACE_SELECTOR": '{"matchLabels": {"longtask.io/enabled": "true"}}',
            "LONGTASK_RUNNER_CLUSTER_ROLE": "lt-runner",
            "LONGTASK_ALLOWED_IMAGES": " registry.example.com/a/* ,, docker.io/library/python:3.*",
        }
    )
    assert got.namespace_selector == {"matchLabels": {"longtask.io/enabled": "true"}}
    assert got.runner_cluster_role == "lt-runner"
    assert got.image_patterns == ("registry.example.com/a/*", "docker.io/library/python:3.*")
    default = settings.from_env({"LONGTASK_RUNNER_IMAGE": "ghcr.io/longtask/longtask-runner:1"})
    assert default.namespace_selector is None and default.runner_cluster_role == "longtask-runner"
    assert default.image_patterns == ("ghcr.io/longtask/*",)


@pytest.mark.parametrize("raw", ["team=a", '["x"]', '{"matchFields": {}}'])
def test_a_malformed_namespace_selector_is_refused_with_its_form(raw: str) -> None:
    with pytest.raises(ValueError, match="LONGTASK_NAMESPACE_SELECTOR must be a label selector"):
        settings.from_env({"LONGTASK_NAMESPACE_SELECTOR": raw})


def test_served_namespaces_follow_kopfs_patterns() -> None:
    assert settings.Settings().serves("anything")
    served = settings.Settings(namespaces=settings.parse_namespaces("team-*,batch"))
    assert served.serves("team-a") and served.serves("batch") and not served.serves("kube-system")
    excluding = settings.Settings(namespaces=settings.parse_namespaces("!kube-*"))
    assert excluding.serves("default") and not excluding.serves("kube-system")


def test_task_users_are_on_by_default_and_need_redis() -> None:
    assert settings.from_env({"LONGTASK_REDIS_URL": "redis://r/0"}).task_users
    assert not settings.from_env({}).task_users
    off = settings.from_env(
        {"LONGTASK_REDIS_URL": "redis://r/0", "LONGTASK_REDIS_TASK_USERS": "false"}
    )
    assert not off.task_users


def test_a_malformed_switch_names_the_variable() -> None:
    with pytest.raises(ValueError, match="LONGTASK_REDIS_TASK_USERS"):
        settings.from_env({"LONGTASK_REDIS_TASK_USERS": "maybe"})
