"""Every operation of the API documents the errors it can answer (schemathesis checks each
answer against the schema): 404 wherever a namespace is named (an unknown namespace), and 401,
403, 422 and 503 on every `/v1` route. Regression: the output route answered an undocumented 404."""

from __future__ import annotations

from typing import Any

import pytest
from longtask.api import main
from longtask.api.settings import Settings


def operations() -> list[Any]:
    spec = main.create_app(Settings(auth_mode="none", host="127.0.0.1")).openapi()
    return [
        pytest.param(verb, path, op, id=f"{verb} {path}")
        for path, ops in spec["paths"].items()
        if path.startswith("/v1/")
        for verb, op in ops.items()
    ]


@pytest.mark.parametrize(("verb", "path", "op"), operations())
def test_every_v1_operation_documents_its_errors(verb: str, path: str, op: dict[str, Any]) -> None:
    expected = {"401", "403", "422", "503"} | ({"404"} if "{namespace}" in path else set())
    assert expected <= set(op["responses"]), f"{verb} {path}: {sorted(op['responses'])}"
