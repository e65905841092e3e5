"""The dashboard's history view in headless Chromium against the real gateway and a history
database: finished tasks newest first, the search box, the outcome filter (kept in the
address), a record with its attempts and log tail; no console error and no serious
accessibility violation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt

from longtask.history import engines, migrating, records, writing
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    Console,
    accessibility_violations,
    open_dashboard,
    screenshot,
)
from tests.fixtures.gateway import GatewayFactory
from tests.fixtures.historyrecords import T0, finished_task

# name → (phase, minutes before T0 it finished)
FINISHED = {
    "embed-a": ("Succeeded", 1),
    "embed-b": ("Failed", 2),
    "sum-a": ("Cancelled", 3),
    "embed-c": ("Succeeded", 4),
}


def fill_history(dsn: str, namespace: str) -> dict[str, records.Record]:
    made = {
        name: records.build(
            finished_task(
                name=name,
                namespace=namespace,
                phase=phase,
                finished=T0 - dt.timedelta(minutes=ago),
                attempts=2 if phase == "Failed" else 1,
                dead_lettered=phase == "Failed",
            ),
            [records.LogLine(f"{name} says hello", 1), records.LogLine(f"{name} says bye", 2)],
        )
        for name, (phase, ago) in FINISHED.items()
    }

    async def write() -> None:
        engine = engines.create(dsn)
        try:
            await writing.write(engine, list(made.values()), T0)
        finally:
            await engine.dispose()

    migrating.upgrade(dsn)
    # Playwright's sync API runs an event loop in this thread: write from another one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write()).result()
    return made


def row_names(page: Page) -> list[str]:
    found: list[str] = page.locator(".history tbody tr td:first-child").all_inner_texts()
    return found


def test_history_search_filter_and_one_record(
    page: Page,
    console: Console,
    gateway_factory: GatewayFactory,
    namespace: str,
    tmp_path,
    axe_source: str,
) -> None:
    dsn = f"sqlite:///{tmp_path / 'history.db'}"
    made = fill_history(dsn, namespace)
    gateway = gateway_factory(history_dsn=dsn)
    open_dashboard(page, gateway.url, f"#/history/{namespace}", gateway.key)
    expect(page.locator(".history tbody tr")).to_have_count(4)
    assert row_names(page) == ["embed-a", "embed-b", "sum-a", "embed-c"]  # newest first
    expect(page.locator("nav a", has_text="History")).to_be_visible()
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "history")

    page.fill("#h-search", "embed")
    expect(page.locator(".history tbody tr")).to_have_count(3)
    page.select_option("#h-phase", "Failed")
    expect(page.locator(".history tbody tr")).to_have_count(1)
    assert row_names(page) == ["embed-b"]
    assert "phase=Failed" in page.url and "namePrefix=embed" in page.url

    page.click("text=embed-b")
    expect(page.locator("h1")).to_have_text("embed-b")
    expect(page.locator(".attempts tbody tr")).to_have_count(2)
    expect(page.locator("pre.log")).to_contain_text("[2] embed-b says bye")
    expect(page.locator("dl.details")).to_contain_text(made["embed-b"].uid)
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "history-record")

    # A deep link keeps the filters; an unknown record says so.
    page.goto(f"{gateway.url}/#/history/{namespace}?phase=Cancelled")
    page.reload()
    expect(page.locator(".history tbody tr")).to_have_count(1)
    assert row_names(page) == ["sum-a"]
    console.allow(r"Failed to load resource: the server responded with a status of 404")
    page.goto(f"{gateway.url}/#/history/{namespace}/no-such-uid")
    expect(page.locator('.error[data-error="not_found"]')).to_contain_text("no task no-such-uid")
