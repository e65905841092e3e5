"""The dashboard in headless Chromium (Debian's, driven by Playwright): with auth on, it asks
for the key once, follows the namespace over EventSource with a stream token, and shows a
task's bar moving to 100 % and its phase turning Succeeded. A screenshot is saved."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from kubernetes import client as k8s_client
from playwright.sync_api import Page, expect, sync_playwright

from tests.fixtures.gateway import Gateway, create_task, patch_status

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (deploy/devstack/install-system-deps.sh)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 500})
        finally:
            browser.close()


def test_dashboard_shows_live_progress(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    create_task(gateway, namespace, name="visible")
    page.goto(f"{gateway.url}/?namespace={namespace}")

    # Auth is on: the page asks for the key once, then keeps it for the tab.
    page.fill("#key", gateway.key or "")
    page.click("#key-form button[type=submit]")
    row = page.locator('tr[data-task="visible"]')
    expect(row.locator(".phase")).to_have_text("Pending")
    expect(page.locator("#live")).to_have_text("live")

    bar = row.locator(".bar")
    patch_status(k8s, namespace, "visible", phase="Running", progress=30, message="a third")
    expect(bar).to_have_attribute("data-progress", "30")
    expect(row.locator(".phase")).to_have_text("Running")
    expect(row.locator(".message")).to_have_text("a third")
    expect(row.locator(".cancel")).to_be_visible()

    patch_status(k8s, namespace, "visible", progress=60, message="more")
    expect(bar).to_have_attribute("data-progress", "60")
    patch_status(k8s, namespace, "visible", phase="Succeeded", progress=100, message="done")
    expect(bar).to_have_attribute("data-progress", "100")
    expect(row.locator(".phase")).to_have_text("Succeeded")
    expect(row.locator(".cancel")).to_be_hidden()

    # A task created later shows up live, without a reload.
    create_task(gateway, namespace, name="newcomer")
    expect(page.locator('tr[data-task="newcomer"] .phase')).to_have_text("Pending")

    ARTIFACTS.mkdir(exist_ok=True)
    # Finite CSS transitions are fast-forwarded, so the picture shows the final bar.
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True, animations="disabled")
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 0


def test_dashboard_cancel_button_and_log(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    task = create_task(gateway, namespace, name="stoppable")
    patch_status(k8s, namespace, "stoppable", phase="Running", progress=10)
    r = redis_lib.Redis.from_url(gateway.env["LONGTASK_REDIS_URL"], decode_responses=True)
    r.xadd(f"longtask:{task['uid']}:logs", {"line": "hello from the task", "attempt": "1"})
    page.goto(f"{gateway.url}/?namespace={namespace}")
    page.fill("#key", gateway.key or "")
    page.click("#key-form button[type=submit]")
    row = page.locator('tr[data-task="stoppable"]')
    row.locator(".logs").click()
    expect(page.locator("#log")).to_contain_text("hello from the task")
    row.locator(".cancel").click()
    expect(row.locator(".cancel")).to_be_hidden()  # cancelRequested came back
    r.close()
