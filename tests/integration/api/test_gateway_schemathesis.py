"""Fuzzing the gateway's OpenAPI schema with schemathesis: no 5xx, and every response matches
the schema (status codes, content types, bodies). Streams are left out: they never end.

Hypothesis runs per operation from inside one test (schemathesis' pytest plugin needs the
schema at collection time, and the gateway's URL is only known from a fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.fixtures.gateway import Gateway

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
EXAMPLES = 25


def fuzz(operation: Any, gateway: Gateway) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if case.query and str(case.query.get("follow", "")).lower() in {"true", "1"}:
            case.query["follow"] = "false"  # a followed log is a stream
        case.call_and_validate(base_url=gateway.url, headers=gateway.headers, checks=CHECKS)

    run()


def test_fuzzed_requests_get_documented_answers(gateway: Gateway) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    failures: dict[str, str] = {}
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue
        fuzzed += 1
        try:
            fuzz(operation, gateway)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:2000]
    assert fuzzed >= 10
    if failures:
        pytest.fail("\n\n".join(f"{label}:\n{text}" for label, text in failures.items()))
