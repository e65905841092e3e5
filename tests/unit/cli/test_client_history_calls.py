"""The history's calls: query parameters in the gateway's spelling, phases repeated."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from longtask.client import calls


def test_a_history_page_spells_every_filter_as_the_gateway_reads_it() -> None:
    call = calls.history_page(
        "team-a",
        limit=20,
        continue_="abc",
        phases=["Failed", "Cancelled"],
        label_selector="team=a",
        name_prefix="embed-",
        since=datetime(2026, 1, 1, tzinfo=UTC),
        queue="gpu",
        schedule="nightly",
    )
    assert (call.method, call.path) == ("GET", "/v1/namespaces/team-a/history")
    query = httpx.QueryParams(call.params)
    assert query.get_list("phase") == ["Failed", "Cancelled"]
    assert dict(query) | {"phase": "-"} == {
        "phase": "-",
        "labelSelector": "team=a",
        "namePrefix": "embed-",
        "since": "2026-01-01T00:00:00+00:00",
        "queue": "gpu",
        "schedule": "nightly",
        "limit": "20",
        "continue": "abc",
    }


def test_no_filters_no_parameters_and_a_record_by_uid() -> None:
    assert calls.history_page("ns").params == {}
    call = calls.history_record("ns", "0b4c-11")
    assert call.path == "/v1/namespaces/ns/history/0b4c-11"
