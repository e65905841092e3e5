"""The dashboard's schedules view in headless Chromium with the real operator: each schedule with
its next run, whether it is ready (and why not), the outcomes of its last runs as links to the
runs, "Run now", Suspend and Resume. No console error, no serious accessibility violation."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from longtask.core import schedule
from playwright.sync_api import Page, expect

from tests.fixtures.browser import accessibility_violations, open_dashboard, screenshot
from tests.fixtures.gateway import Gateway
from tests.fixtures.operator import OperatorProcess

QUICK = {"spec": {"command": ["sh", "-c", "echo '::progress 100 refreshed'"]}}


def create(k8s: client.ApiClient, namespace: str, name: str, **spec: Any) -> None:
    client.CustomObjectsApi(k8s).create_namespaced_custom_object(
        schedule.GROUP,
        schedule.VERSION,
        namespace,
        schedule.PLURAL,
        {
            "apiVersion": schedule.API_VERSION,
            "kind": schedule.KIND,
            "metadata": {"name": name},
            "spec": {"template": QUICK, **spec},
        },
    )


def row(page: Page, name: str) -> Any:
    return page.locator("table tbody tr").filter(has=page.locator(f'[data-schedule="{name}"]'))


def test_schedules_show_next_run_and_last_runs_and_run_now_suspend_resume(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    k8s: client.ApiClient,
    axe_source: str,
) -> None:
    create(k8s, op_namespace, "nightly", schedule="0 2 * * *", timeZone="Europe/Berlin")
    # A seconds field: the session's operator (not started for tests) refuses it.
    create(k8s, op_namespace, "too-fast", schedule="*/5 * * * * *")
    open_dashboard(page, gateway.url, f"#/schedules/{op_namespace}", gateway.key)
    expect(page.locator("h1")).to_contain_text(op_namespace)
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Schedules")
    nightly, fast = row(page, "nightly"), row(page, "too-fast")
    # Both seen by the operator (the view refreshes every 15 s and on runs' changes).
    expect(nightly.locator('[data-state="ready"]')).to_be_visible(timeout=40_000)
    expect(fast.locator('[data-state="invalid"]')).to_have_text("SecondsNotEnabled", timeout=40_000)
    expect(fast.locator('[data-action="trigger"]')).to_be_disabled()
    expect(nightly.locator(".next")).to_contain_text("(in ")
    expect(nightly).to_contain_text("Europe/Berlin")
    expect(nightly).to_contain_text("none yet")

    nightly.locator('[data-action="trigger"]').click()
    page.wait_for_url(f"**/#/task/{op_namespace}/nightly-manual-*", timeout=10_000)
    run_name = page.url.rsplit("/", 1)[-1]
    expect(page.locator(".live-header .badge")).to_have_text("Succeeded", timeout=60_000)

    open_dashboard(page, gateway.url, f"#/schedules/{op_namespace}")
    nightly = row(page, "nightly")
    ran = nightly.locator(f'a.run[data-run="{run_name}"]')
    expect(ran).to_have_attribute("data-phase", "Succeeded", timeout=30_000)
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "schedules")

    nightly.locator('[data-action="suspend"]').click()
    expect(nightly.locator('[data-state="suspended"]')).to_be_visible(timeout=20_000)
    nightly.locator('[data-action="resume"]').click()
    expect(nightly.locator('[data-state="ready"]')).to_be_visible(timeout=40_000)

    ran.click()
    expect(page).to_have_url(f"{gateway.url}/#/task/{op_namespace}/{run_name}")
