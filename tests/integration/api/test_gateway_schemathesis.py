"""Fuzzing the gateway's OpenAPI schema with schemathesis: no 5xx, and every response matches
the schema (status codes, content types, bodies). Streams are left out: they never end. Besides
schemathesis' own cases, hostile ones: a number the API server cannot store (NaN, Infinity,
1e400, beyond 64 bits) somewhere in the body or query, and headers past the gateway's limits.

Hypothesis runs per operation from inside one test (schemathesis' pytest plugin needs the
schema at collection time, and the gateway's URL is only known from a fixture).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


# Numbers the API server cannot store as sent; Python's json writes the floats as NaN/Infinity.
BAD_NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1, 10**400])
# Headers past the gateway's limits: one line over 8 KiB, a head over 64 KiB, too many headers.
HUGE_HEADERS = st.sampled_from(
    [
        {"X-Huge": "a" * 9000},
        {f"X-Big-{i}": "b" * 8000 for i in range(10)},
        {f"X-Many-{i}": "c" for i in range(150)},
    ]
)


def spoil(value: Any, bad: Any, where: int) -> Any:
    """`value` with a bad number put somewhere into it (a body, a field, or the whole)."""
    if isinstance(value, dict) and value:
        key = sorted(value)[where % len(value)]
        return {**value, key: spoil(value[key], bad, where // 2)}
    if isinstance(value, list) and value:
        index = where % len(value)
        return [*value[:index], spoil(value[index], bad, where // 2), *value[index + 1 :]]
    return bad


def fuzz(operation: Any, gateway: Gateway) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if case.query and str(case.query.get("follow", "")).lower() in {"true", "1"}:
            case.query["follow"] = "false"  # a followed log is a stream
        case.call_and_validate(base_url=gateway.url, headers=gateway.headers, checks=CHECKS)

    run()


def fuzz_hostile(operation: Any, gateway: Gateway) -> None:
    """Cases with a bad number somewhere in the body or the query, and/or huge headers."""

    @given(
        case=operation.as_strategy(),
        bad=BAD_NUMBERS,
        where=st.integers(0, 64),
        headers=st.none() | HUGE_HEADERS,
    )
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any, bad: Any, where: int, headers: dict[str, str] | None) -> None:
        if case.query and str(case.query.get("follow", "")).lower() in {"true", "1"}:
            case.query["follow"] = "false"
        extra: dict[str, Any] = {}
        call_headers = {**gateway.headers, **(headers or {})}
        if isinstance(case.body, dict | list):
            # Sent as written by Python's json (NaN, Infinity): schemathesis refuses to.
            extra["data"] = json.dumps(spoil(case.body, bad, where)).encode()
            call_headers["Content-Type"] = "application/json"
        elif case.query:
            case.query = spoil(case.query, str(bad), where)
        response = case.call_and_validate(
            base_url=gateway.url, headers=call_headers, checks=CHECKS, **extra
        )
        if headers is not None:  # every one of them is past a limit
            assert response.status_code == 431, response.text
        elif extra:  # a bad number is never stored as something else
            assert 400 <= response.status_code < 500, response.text

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


def test_non_finite_numbers_and_huge_headers_get_documented_answers(gateway: Gateway) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    failures: dict[str, str] = {}
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue
        fuzzed += 1
        try:
            fuzz_hostile(operation, gateway)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:2000]
    assert fuzzed >= 10
    if failures:
        pytest.fail("\n\n".join(f"{label}:\n{text}" for label, text in failures.items()))
