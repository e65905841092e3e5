"""A task's output on its page in headless Chromium: it grows while the example generator
writes it, ends as the whole text, and a retraction after a failed attempt is announced. No
console error, no serious accessibility violation; the screenshot of the output growing."""

from __future__ import annotations

from longtask_examples import generating
from playwright.sync_api import Page, expect

from tests.fixtures.browser import accessibility_violations, open_dashboard, screenshot
from tests.fixtures.gateway import Gateway, create_task
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.waiting import wait_for

GENERATE = "longtask_examples.generating:generate"


def shown(page: Page) -> str:
    return str(page.locator("#output").text_content())


def test_a_running_tasks_output_grows_on_its_page(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    axe_source: str,
) -> None:
    params = {"tokens": 600, "rate": 25, "seed": 3}
    create_task(gateway, op_namespace, name="story", command=None, task=GENERATE, params=params)
    open_dashboard(page, gateway.url, f"#/task/{op_namespace}/story", gateway.key)
    expected = generating.text(3, 600)
    wait_for(lambda: len(shown(page)) > 300, 60, "the output to start")
    before = shown(page)
    wait_for(lambda: len(shown(page)) > len(before) + 40, 30, "the output to grow")
    assert expected.startswith(shown(page))
    expect(page.locator(".output-state")).to_contain_text("chunks")
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "task-output")
    with gateway.client() as http:
        http.post(f"/v1/namespaces/{op_namespace}/tasks/story/cancel")


def test_a_retraction_is_announced_and_the_output_ends_whole(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
) -> None:
    # A command that writes three chunks and fails; its second attempt writes a new output.
    script = (
        'if [ "$LONGTASK_ATTEMPT" = 1 ]; then echo "::output one "; echo "::output two "; '
        'echo "::output three"; exit 1; fi; echo "::output fresh start"'
    )
    retry = {"maxAttempts": 2, "backoff": {"initialSeconds": 0.5, "jitter": False}}
    create_task(gateway, op_namespace, name="again", command=["sh", "-c", script], retry=retry)
    open_dashboard(page, gateway.url, f"#/task/{op_namespace}/again", gateway.key)
    expect(page.locator(".output-state")).to_contain_text("the task ended", timeout=90_000)
    expect(page.locator("#output")).to_have_text("fresh start")
    expect(page.locator(".output-note")).to_contain_text(
        "Attempt 2 started a new output: the 3 chunks of the failed attempt were withdrawn"
    )
