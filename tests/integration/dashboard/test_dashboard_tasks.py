"""The dashboard's task list in headless Chromium against the real gateway: the phase filter,
the label selector and the name search (recorded in a deep link), exact pages, live rows (a
task changes, appears, is deleted), the keyboard, a narrow window, an unknown namespace, the key
dialog; no console error and no serious accessibility violation on any page."""

from __future__ import annotations

from kubernetes import client as k8s_client
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    Console,
    accessibility_violations,
    open_dashboard,
    screenshot,
)
from tests.fixtures.gateway import Gateway, create_task, patch_status

TEAMS = {"alpha": "a", "bravo": "a", "charlie": "b", "delta": "b", "echo": "a"}


def seed(gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient) -> None:
    """Five tasks in several phases (no operator runs here: the statuses are written)."""
    for name, team in TEAMS.items():
        create_task(gateway, namespace, name=name, labels={"team": team})
    patch_status(
        k8s, namespace, "alpha", phase="Running", progress=40, message="working", attempt=1
    )
    patch_status(k8s, namespace, "bravo", phase="Succeeded", progress=100, message="done")
    patch_status(k8s, namespace, "charlie", phase="Failed", message="boom", attempt=3)
    patch_status(k8s, namespace, "delta", phase="Running", progress=5, attempt=1)


def names(page: Page) -> list[str]:
    found: list[str] = page.locator("#tasks tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.task)"
    )
    return found


def expect_names(page: Page, expected: list[str]) -> None:
    expect(page.locator("#tasks tbody tr")).to_have_count(len(expected))
    assert names(page) == expected


def test_filters_search_deep_links_and_pages(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient, axe_source: str
) -> None:
    seed(gateway, namespace, k8s)
    open_dashboard(page, gateway.url, f"#/tasks/{namespace}", gateway.key)
    expect_names(page, ["alpha", "bravo", "charlie", "delta", "echo"])
    row = page.locator('tr[data-task="alpha"]')
    expect(row.locator(".badge")).to_have_text("Running")
    expect(row.locator(".bar")).to_have_attribute("data-progress", "40")
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "tasks")

    page.select_option("#f-phase", "Running")
    expect_names(page, ["alpha", "delta"])
    page.fill("#f-labels", "team=a")
    expect_names(page, ["alpha"])
    page.select_option("#f-phase", "")
    expect_names(page, ["alpha", "bravo", "echo"])
    page.fill("#f-search", "ech")
    expect_names(page, ["echo"])
    assert "labelSelector=team%3Da" in page.url and "nameContains=ech" in page.url

    # The address is a deep link: opened anew, it shows the same filtered list.
    page.goto(f"{gateway.url}/#/tasks/{namespace}?phase=Failed")
    page.reload()
    expect_names(page, ["charlie"])
    expect(page.locator("#f-phase")).to_have_value("Failed")

    # Exact pages in name order, two tasks each, with a filter that cuts across API pages.
    page.goto(f"{gateway.url}/#/tasks/{namespace}?limit=2&labelSelector=team%3Da")
    expect_names(page, ["alpha", "bravo"])
    page.click("#next-page")
    expect_names(page, ["echo"])
    expect(page.locator("#next-page")).to_have_count(0)
    page.click("#first-page")
    expect_names(page, ["alpha", "bravo"])


def test_rows_are_live(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    seed(gateway, namespace, k8s)
    open_dashboard(page, gateway.url, f"#/tasks/{namespace}", gateway.key)
    expect(page.locator("#live")).to_have_text("live")
    row = page.locator('tr[data-task="delta"]')
    patch_status(k8s, namespace, "delta", progress=60, message="more than half")
    expect(row.locator(".bar")).to_have_attribute("data-progress", "60")
    expect(row.locator(".message")).to_have_text("more than half")
    patch_status(k8s, namespace, "delta", phase="Succeeded", progress=100)
    expect(row.locator(".badge")).to_have_text("Succeeded")

    create_task(gateway, namespace, name="bravo-two")  # appears in name order
    expect_names(page, ["alpha", "bravo", "bravo-two", "charlie", "delta", "echo"])
    with gateway.client() as http:
        http.delete(f"/v1/namespaces/{namespace}/tasks/charlie")
    expect_names(page, ["alpha", "bravo", "bravo-two", "delta", "echo"])


def test_keyboard_only(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    seed(gateway, namespace, k8s)
    open_dashboard(page, gateway.url, f"#/tasks/{namespace}", gateway.key)
    expect_names(page, ["alpha", "bravo", "charlie", "delta", "echo"])
    page.locator("body").press("/")  # focuses the name search
    expect(page.locator("#f-search")).to_be_focused()
    page.keyboard.type("charl")
    expect_names(page, ["charlie"])
    link = page.locator('tr[data-task="charlie"] a')
    for _ in range(20):  # Tab to the task's link, as a keyboard user does
        page.keyboard.press("Tab")
        if link.evaluate("a => a === document.activeElement"):
            break
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("charlie")
    expect(page.locator("main")).to_be_focused()  # the new view gets the focus


def test_a_narrow_window_needs_no_sideways_scrolling(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient, axe_source: str
) -> None:
    seed(gateway, namespace, k8s)
    page.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(page, gateway.url, f"#/tasks/{namespace}", gateway.key)
    expect_names(page, ["alpha", "bravo", "charlie", "delta", "echo"])
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    expect(page.locator("#tasks th", has_text="Created")).to_be_hidden()
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "tasks-narrow")


def test_an_unknown_namespace_says_so(page: Page, gateway: Gateway, console: Console) -> None:
    console.allow(r"Failed to load resource: the server responded with a status of 404")
    open_dashboard(page, gateway.url, "#/tasks/no-such-namespace", gateway.key)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("namespace 'no-such-namespace' does not exist")
    page.goto(f"{gateway.url}/#/overview/no-such-namespace")
    expect(page.get_by_role("alert")).to_contain_text("does not exist")


def test_the_namespace_field_checks_its_pattern(
    page: Page, gateway: Gateway, namespace: str
) -> None:
    open_dashboard(page, gateway.url, "#/tasks/default", gateway.key)
    field = page.locator("#namespace")
    # Chromium compiles `pattern` with the v flag: an invalid one would check nothing.
    field.fill("Not_A_Namespace")
    assert field.evaluate("input => input.validity.patternMismatch") is True
    field.press("Enter")
    expect(page).to_have_url(f"{gateway.url}/#/tasks/default")  # refused, stays
    field.fill(namespace)
    assert field.evaluate("input => input.validity.valid") is True
    field.press("Enter")
    expect(page).to_have_url(f"{gateway.url}/#/tasks/{namespace}")


def test_the_key_is_asked_once_then_kept_for_the_tab(
    page: Page, gateway: Gateway, namespace: str, console: Console
) -> None:
    create_task(gateway, namespace, name="visible")
    console.allow(r"status of 401")  # the wrong key, refused
    page.goto(f"{gateway.url}/#/tasks/{namespace}")
    expect(page.locator("#key-dialog")).to_be_visible()
    page.fill("#key", "not-the-key")
    page.press("#key", "Enter")
    expect(page.locator("#key-error")).to_be_visible()
    page.fill("#key", gateway.key or "")
    page.press("#key", "Enter")
    expect_names(page, ["visible"])
    page.reload()
    expect_names(page, ["visible"])
    expect(page.locator("#key-dialog")).to_be_hidden()


def test_a_task_says_what_made_it(
    page: Page, gateway: Gateway, namespace: str, k8s: k8s_client.ApiClient
) -> None:
    create_task(gateway, namespace, name="nightly-1", queue="batch")
    create_task(gateway, namespace, name="nightly-1-retry", annotations={"note": "x"})
    # As the operator marks a schedule's run, and the gateway's retry its new task.
    api = k8s_client.CustomObjectsApi(k8s)
    api.patch_namespaced_custom_object(
        "longtask.io", "v1alpha1", namespace, "longtasks", "nightly-1",
        {"metadata": {
            "labels": {"longtask.io/schedule": "nightly"},
            "annotations": {"longtask.io/scheduled-time": "2026-01-01T02:00:00Z"},
        }},
    )  # fmt: skip
    api.patch_namespaced_custom_object(
        "longtask.io", "v1alpha1", namespace, "longtasks", "nightly-1-retry",
        {"metadata": {"annotations": {"longtask.io/retry-of": "nightly-1"}}},
    )  # fmt: skip
    open_dashboard(page, gateway.url, f"#/task/{namespace}/nightly-1-retry", gateway.key)
    details = page.locator("dl.details")
    expect(details).to_contain_text("Retry of")
    details.get_by_role("link", name="nightly-1").click()
    expect(page.locator("h1")).to_have_text("nightly-1")
    expect(page.locator("dl.details")).to_contain_text("Schedule")
    expect(page.locator("dl.details")).to_contain_text("nightly (slot")
    expect(page.locator("dl.details")).to_contain_text("batch")
