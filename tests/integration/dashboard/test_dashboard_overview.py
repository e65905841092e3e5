"""The dashboard's overview in headless Chromium with the real operator: tasks per phase (each a
link to the filtered list), a chart of the tasks finished per minute with their run times, kept
up to date by the namespace stream. No console error, no serious accessibility violation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.fixtures.browser import accessibility_violations, open_dashboard, screenshot
from tests.fixtures.gateway import Gateway, create_task
from tests.fixtures.operator import OperatorProcess


def count(page: Page, phase: str) -> str:
    return page.locator(f'.phase-card[data-phase="{phase}"] .count').inner_text()


def test_overview_counts_phases_and_charts_finished_tasks(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    axe_source: str,
) -> None:
    create_task(gateway, op_namespace, name="quick", command=["sh", "-c", "sleep 1"])
    create_task(gateway, op_namespace, name="quicker", command=["true"])
    create_task(
        gateway, op_namespace, name="fails", command=["sh", "-c", "exit 3"]
    )  # exit 3: fails at once
    open_dashboard(page, gateway.url, f"#/overview/{op_namespace}", gateway.key)
    expect(page.locator("h1")).to_contain_text(op_namespace)
    # Live: the cards follow the tasks to their ends without a reload.
    expect(page.locator('.phase-card[data-phase="Succeeded"] .count')).to_have_text(
        "2", timeout=60_000
    )
    expect(page.locator('.phase-card[data-phase="Failed"] .count')).to_have_text(
        "1", timeout=60_000
    )
    assert count(page, "Running") == "0" and count(page, "Pending") == "0"
    # Bars of succeeded and failed tasks (one minute, or two if they straddled one), and a
    # dot for each minute's mean run time.
    expect(page.locator("svg.chart rect.bar-succeeded").first).to_be_visible()
    expect(page.locator("svg.chart rect.bar-failed").first).to_be_visible()
    expect(page.locator("svg.chart circle.duration").first).to_be_attached()
    label = page.locator("svg.chart").get_attribute("aria-label") or ""
    assert label.startswith("3 tasks finished in the last 60 minutes"), label
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "overview")

    page.click('.phase-card[data-phase="Failed"]')
    expect(page).to_have_url(f"{gateway.url}/#/tasks/{op_namespace}?phase=Failed")
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Tasks")
