"""Command-line words to a submit body: params, labels, LongTask files, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from longtask.cli import params


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("2.5", 2.5),
        ("true", True),
        ("null", None),
        ('"quoted"', "quoted"),
        ("[1, 2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ("hello", "hello"),
        ("", ""),
        ("a=b", "a=b"),
        ("01", "01"),
    ],
)
def test_param_values_are_json_when_they_parse(text: str, value: object) -> None:
    assert params.param_value(text) == value


def test_params_split_at_the_first_equals_and_later_keys_win() -> None:
    got = params.parse_params(["n=3", "query=a=b", "n=4", "empty="])
    assert got == {"n": 4, "query": "a=b", "empty": ""}


@pytest.mark.parametrize("bad", ["novalue", "=x", " =x"])
def test_a_param_without_key_or_equals_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not key=value"):
        params.parse_params([bad])


def test_label_values_stay_strings() -> None:
    assert params.parse_labels(["team=a", "n=3"]) == {"team": "a", "n": "3"}


def test_manifest_metadata_and_spec_become_the_body(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(
        "apiVersion: longtask.io/v1alpha1\n"
        "kind: LongTask\n"
        "metadata:\n  generateName: embed-\n  labels: {team: a}\n"
        "spec:\n  task: mypkg.jobs:embed\n  params: {n: 3}\n  retry: {maxAttempts: 5}\n"
    )
    body = params.load_file(path)
    assert body == {
        "task": "mypkg.jobs:embed",
        "params": {"n": 3},
        "retry": {"maxAttempts": 5},
        "generateName": "embed-",
        "labels": {"team": "a"},
    }


def test_a_bare_body_file_is_taken_as_is(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text('{"command": ["true"], "name": "x"}')
    assert params.load_file(path) == {"command": ["true"], "name": "x"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Job\nspec: {}\n", "expected LongTask"),
        ("kind: LongTaskSchedule\nspec: {}\n", "kubectl apply -f"),
        ("- a\n- b\n", "mapping"),
        ("a: [\n", "not YAML"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        params.load_file(path)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("#" * (params.FILE_MAX_BYTES + 1))
    with pytest.raises(ValueError, match="larger than"):
        params.load_file(path)


def test_command_line_overrides_merge_into_the_file() -> None:
    base = {
        "task": "m:f",
        "params": {"a": 1, "b": 2},
        "labels": {"team": "a"},
        "retry": {"maxAttempts": 5, "backoff": {"initialSeconds": 1}},
        "generateName": "x-",
    }
    body = params.build(
        base,
        {
            "params": {"b": 3},
            "labels": {"env": "dev"},
            "retry": {"maxAttempts": 2},
            "name": "exact",
            "timeoutSeconds": None,
            "env": [],
        },
    )
    assert body.params == {"a": 1, "b": 3}
    assert body.labels == {"team": "a", "env": "dev"}
    assert body.retry is not None and body.retry.max_attempts == 2
    assert body.retry.backoff is not None and body.retry.backoff.initial_seconds == 1
    assert (body.name, body.generate_name, body.timeout_seconds) == ("exact", None, None)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "exactly one of task and command"),
        ({"command": ["a"], "task": "m:f"}, "exactly one of task and command"),
        ({"task": "not a callable"}, "task"),
        ({"command": ["a"], "labels": {"longtask.io/x": "y"}}, "reserved"),
    ],
)
def test_invalid_bodies_say_what_is_wrong(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        params.build({}, fields)
