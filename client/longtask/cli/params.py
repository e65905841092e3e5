"""From command-line words to a submit body: `key=value` params and labels, LongTask files.

Pure functions; `commands.submit` calls them and turns their ValueErrors into usage errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import pydantic
import yaml
from longtask.core import resource, schedule, wire

# A LongTask file is a manifest of a few KiB; params alone are capped at 64 KiB.
FILE_MAX_BYTES: Final = 1024 * 1024


def split_pair(text: str, what: str) -> tuple[str, str]:
    """`key=value` → (key, value); the value may be empty and may contain `=`."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"{what} {text!r} is not key=value")
    return key, value


def param_value(text: str) -> Any:
    """A param value: the JSON it spells when it is JSON (`3`, `true`, `[1]`), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """`--param key=value` options as a params object (a later key wins)."""
    params: dict[str, Any] = {}
    for item in items:
        key, value = split_pair(item, "param")
        params[key] = param_value(value)
    return params


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    """`--label key=value` options as labels (values are strings, never JSON)."""
    return dict(split_pair(item, "label") for item in items)


def load_file(path: Path) -> dict[str, Any]:
    """A submit body (camelCase fields) from a LongTask manifest or a bare body, YAML or JSON."""
    if path.stat().st_size > FILE_MAX_BYTES:
        raise ValueError(f"{path} is larger than {FILE_MAX_BYTES} bytes")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} does not hold a mapping")
    return body_of_manifest(document)


def body_of_manifest(document: Mapping[str, Any]) -> dict[str, Any]:
    """The submit body of a LongTask manifest (metadata + spec); a bare body is kept as is."""
    if "spec" not in document and "kind" not in document:
        return dict(document)
    kind = document.get("kind", resource.KIND)
    if kind == schedule.KIND:
        raise ValueError(
            f"this is a {schedule.KIND}: create it with `kubectl apply -f FILE` (its runs are "
            "LongTasks the operator starts); `longtask submit` takes LongTasks"
        )
    if kind != resource.KIND:
        raise ValueError(f"kind is {kind!r}, expected {resource.KIND}")
    spec = document.get("spec") or {}
    metadata = document.get("metadata") or {}
    if not isinstance(spec, dict) or not isinstance(metadata, dict):
        raise ValueError("metadata and spec must be mappings")
    body: dict[str, Any] = dict(spec)
    for field in ("name", "generateName", "labels", "annotations"):
        if metadata.get(field):
            body[field] = metadata[field]
    return body


def build(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> wire.TaskCreate:
    """The validated submit body: the file's fields, then the command line's (None: unset).

    Labels and params merge key by key; `retry.maxAttempts` merges into the file's retry.
    Raises ValueError with a readable message."""
    body = dict(base)
    for key, value in overrides.items():
        if value is None or value == {} or value == []:
            continue
        if key in ("labels", "params", "retry") and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    if body.get("name") and body.get("generateName"):
        # A name on the command line beats the file's generateName, and the other way round.
        drop = "generateName" if overrides.get("name") else "name"
        body.pop(drop)
    try:
        return wire.TaskCreate.model_validate(body)
    except pydantic.ValidationError as exc:
        raise ValueError(validation_message(exc)) from None


def validation_message(exc: pydantic.ValidationError) -> str:
    """One line per error: where and what (the input itself is not echoed)."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ())) or "body"
        lines.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(lines)
