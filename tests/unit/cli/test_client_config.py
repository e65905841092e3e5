"""Where the client finds the gateway: arguments, environment, then .longtask/env."""

from __future__ import annotations

from pathlib import Path

from longtask.client import config


def write_env(folder: Path, text: str) -> Path:
    (folder / ".longtask").mkdir(parents=True)
    path = folder / ".longtask" / "env"
    path.write_text(text)
    return path


def test_arguments_win_over_environment_and_file(tmp_path: Path) -> None:
    write_env(tmp_path, "LONGTASK_GATEWAY_URL=http://file:1\nLONGTASK_TOKEN=file-token\n")
    env = {"LONGTASK_GATEWAY_URL": "http://env:2", "LONGTASK_TOKEN": "env-token"}
    found = config.discover("http://arg:3/", "arg-token", env=env, cwd=tmp_path)
    assert (found.base_url, found.token) == ("http://arg:3", "arg-token")


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    write_env(tmp_path, "LONGTASK_GATEWAY_URL=http://file:1\nLONGTASK_TOKEN=file-token\n")
    env = {"LONGTASK_GATEWAY_URL": "http://env:2", "LONGTASK_TOKEN": "env-token"}
    found = config.discover(env=env, cwd=tmp_path)
    assert (found.base_url, found.token, found.source) == ("http://env:2", "env-token", None)


def test_file_found_in_a_parent_folder(tmp_path: Path) -> None:
    path = write_env(
        tmp_path, "KUBECONFIG=/x\nLONGTASK_GATEWAY_URL=http://127.0.0.1:9\nLONGTASK_TOKEN=s3\n"
    )
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    found = config.discover(env={}, cwd=deep)
    assert (found.base_url, found.token, found.source) == ("http://127.0.0.1:9", "s3", path)


def test_the_file_token_is_not_sent_to_another_gateway(tmp_path: Path) -> None:
    write_env(tmp_path, "LONGTASK_GATEWAY_URL=http://file:1\nLONGTASK_TOKEN=file-token\n")
    found = config.discover("http://elsewhere:5", env={}, cwd=tmp_path)
    assert (found.base_url, found.token) == ("http://elsewhere:5", None)


def test_defaults_without_any_source(tmp_path: Path) -> None:
    found = config.discover(env={}, cwd=tmp_path)
    assert (found.base_url, found.token) == (config.DEFAULT_URL, None)
    assert found.headers() == {}


def test_token_is_kept_out_of_the_repr() -> None:
    found = config.Config("http://x", "very-secret")
    assert "very-secret" not in repr(found)
    assert found.headers() == {"Authorization": "Bearer very-secret"}


def test_an_oversized_env_file_is_ignored(tmp_path: Path) -> None:
    write_env(tmp_path, "LONGTASK_TOKEN=x\n" + "#" * config.ENV_FILE_MAX_BYTES)
    assert config.discover(env={}, cwd=tmp_path).token is None


def test_default_namespace_from_the_environment() -> None:
    assert config.default_namespace({"LONGTASK_NAMESPACE": "team-a"}) == "team-a"
    assert config.default_namespace({}) == "default"


def test_namespace_from_the_argument_then_the_environment(tmp_path: Path) -> None:
    env = {"LONGTASK_NAMESPACE": "team-a"}
    assert config.discover(env=env, cwd=tmp_path).namespace == "team-a"
    assert config.discover(namespace="team-b", env=env, cwd=tmp_path).namespace == "team-b"
    found = config.discover(env={}, cwd=tmp_path)
    assert (found.namespace, found.ns(None), found.ns("x")) == ("default", "default", "x")
