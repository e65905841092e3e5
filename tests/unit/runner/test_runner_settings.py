"""The runner environment (core.runnerenv) read into Settings."""

from __future__ import annotations

import json

import pytest
from longtask.core import resource, runnerenv
from longtask.runner import settings
from longtask.runner.errors import SettingsError

BASE = {
    runnerenv.NAMESPACE: "ns",
    runnerenv.NAME: "t",
    runnerenv.UID: "u-1",
    runnerenv.ATTEMPT: "2",
    runnerenv.TASK: "pkg.mod:run",
    runnerenv.PARAMS: '{"n": 3}',
    runnerenv.REDIS_URL: "redis://127.0.0.1:6379/0",
}


def test_a_full_environment_reads_into_settings() -> None:
    cfg = settings.from_environ(BASE)
    assert (cfg.namespace, cfg.name, cfg.uid, cfg.attempt) == ("ns", "t", "u-1", 2)
    assert cfg.task == "pkg.mod:run" and cfg.command is None
    assert cfg.params == {"n": 3}
    assert cfg.reports_status and cfg.reports_redis
    assert cfg.status_interval == settings.DEFAULT_STATUS_INTERVAL


def test_a_command_is_a_json_argv() -> None:
    env = {**BASE, runnerenv.COMMAND: json.dumps(["sh", "-c", "echo hi"])}
    del env[runnerenv.TASK]
    assert settings.from_environ(env).command == ("sh", "-c", "echo hi")


def test_a_task_alone_runs_without_redis_or_status() -> None:
    cfg = settings.from_environ({runnerenv.TASK: "m:f"})
    assert cfg.params == {} and cfg.attempt == 1
    assert not cfg.reports_status and not cfg.reports_redis


def test_tuning_knobs_are_read() -> None:
    env = {
        **BASE,
        runnerenv.STATUS_INTERVAL: "0.5",
        runnerenv.HEARTBEAT_INTERVAL: "3",
        runnerenv.GRACE_SECONDS: "1",
    }
    cfg = settings.from_environ(env)
    assert (cfg.status_interval, cfg.heartbeat_interval, cfg.grace_seconds) == (0.5, 3.0, 1.0)


@pytest.mark.parametrize(
    "change",
    [
        {runnerenv.COMMAND: '["x"]'},  # both task and command
        {runnerenv.TASK: ""},  # neither
        {runnerenv.PARAMS: "[1, 2]"},
        {runnerenv.PARAMS: "{oops"},
        {runnerenv.PARAMS: json.dumps({"x": "a" * resource.PARAMS_MAX_BYTES})},
        {runnerenv.ATTEMPT: "zero"},
        {runnerenv.ATTEMPT: "0"},
        {runnerenv.STATUS_INTERVAL: "-1"},
        {runnerenv.GRACE_SECONDS: "nan"},
    ],
)
def test_a_malformed_environment_is_refused(change: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        settings.from_environ({**BASE, **change})


@pytest.mark.parametrize("command", ["[]", '"sh"', "[1]", "not json"])
def test_a_malformed_command_is_refused(command: str) -> None:
    env = {**BASE, runnerenv.COMMAND: command}
    del env[runnerenv.TASK]
    with pytest.raises(SettingsError):
        settings.from_environ(env)


def test_the_stream_limits_come_from_the_operator() -> None:
    from longtask.core import runnerenv as env_names
    from longtask.runner import settings as runner_settings

    env = {
        env_names.COMMAND: '["true"]',
        env_names.EVENTS_MAXLEN: "50",
        env_names.LOGS_MAXLEN: "60",
        env_names.LOG_LINE_MAX_CHARS: "70",
    }
    cfg = runner_settings.from_environ(env)
    assert (cfg.events_maxlen, cfg.logs_maxlen, cfg.log_line_max_chars) == (50, 60, 70)
