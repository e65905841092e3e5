"""The dashboard's queues view in headless Chromium with the real operator: each queue with its
limits, running and queued counts and oldest wait, Suspend and Resume; a queued task's page says
its place live. No console error, no serious accessibility violation."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from longtask.core import resource, taskqueue
from playwright.sync_api import Page, expect

from tests.fixtures.browser import accessibility_violations, open_dashboard, screenshot
from tests.fixtures.gateway import Gateway
from tests.fixtures.operator import OperatorProcess


def create(
    k8s: client.ApiClient, namespace: str, plural: str, kind: str, name: str, spec: Any
) -> None:
    client.CustomObjectsApi(k8s).create_namespaced_custom_object(
        resource.GROUP,
        resource.VERSION,
        namespace,
        plural,
        {
            "apiVersion": resource.API_VERSION,
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        },
    )


def row(page: Page, name: str) -> Any:
    return page.locator("table tbody tr").filter(has=page.locator(f'[data-queue="{name}"]'))


def test_queues_show_counts_and_suspend_resume_and_a_task_its_place(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    k8s: client.ApiClient,
    axe_source: str,
) -> None:
    queue = {"maxRunning": 1, "rateLimit": {"starts": 30, "periodSeconds": 60}, "suspend": True}
    create(k8s, op_namespace, taskqueue.PLURAL, taskqueue.KIND, "llm-calls", queue)
    for name in ("first", "second"):
        spec = {"queue": "llm-calls", "command": ["sh", "-c", "echo '::progress 100 ok'"]}
        create(k8s, op_namespace, resource.PLURAL, resource.KIND, name, spec)
    open_dashboard(page, gateway.url, f"#/queues/{op_namespace}", gateway.key)
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Queues")
    llm = row(page, "llm-calls")
    expect(llm.locator('[data-queued="2"]')).to_be_visible(timeout=30_000)
    expect(llm).to_contain_text("1 at once · 30 starts / 60s")
    expect(llm.locator('[data-state="suspended"]')).to_be_visible()
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "queues")

    open_dashboard(page, gateway.url, f"#/task/{op_namespace}/second")
    expect(page.locator(".live-header .badge")).to_have_text("Queued", timeout=30_000)
    expect(page.locator("#task-timing")).to_contain_text("queued #2 in llm-calls", timeout=30_000)
    assert accessibility_violations(page, axe_source) == []

    open_dashboard(page, gateway.url, f"#/queues/{op_namespace}")
    llm = row(page, "llm-calls")
    llm.locator('[data-action="resume"]').click()
    expect(llm.locator('[data-state="active"]')).to_be_visible(timeout=20_000)
    expect(llm.locator('[data-queued="0"]')).to_be_visible(timeout=60_000)
    llm.locator('[data-action="suspend"]').click()
    expect(llm.locator('[data-state="suspended"]')).to_be_visible(timeout=20_000)
