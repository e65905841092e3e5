"""A task's page in headless Chromium, with the real operator running the tasks: a succeeded
task (result, attempts, log, Kubernetes Events), a failed one (every attempt with its outcome,
reason and exit code, attempt separators in the log), a running one (the bar and the log move,
the log follows unless the reader scrolled up), a large result, a timeout, and cancel with its
confirmation then retry. No console error, no serious accessibility violation."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.browser import accessibility_violations, open_dashboard, screenshot
from tests.fixtures.gateway import Gateway, create_task
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.waiting import wait_for

# Counts to `steps` printing a line and reporting progress each `pause` seconds.
COUNTING = (
    'i=0; while [ "$i" -lt {steps} ]; do i=$((i + 1)); '
    'echo "::progress $((i * 100 / {steps})) step $i of {steps}"; echo "line $i"; sleep {pause}; '
    "done"
)


def counting(steps: int, pause: float, result: Any = None) -> list[str]:
    script = COUNTING.format(steps=steps, pause=pause)
    if result is not None:
        script += f"; echo '::result {json.dumps(result)}'"
    return ["sh", "-c", script]


def get_task(gateway: Gateway, namespace: str, name: str) -> dict[str, Any]:
    with gateway.client() as http:
        task: dict[str, Any] = http.get(f"/v1/namespaces/{namespace}/tasks/{name}").json()
    return task


def wait_phase(
    gateway: Gateway, namespace: str, name: str, phase: str, timeout: float = 90
) -> None:
    wait_for(lambda: get_task(gateway, namespace, name)["phase"] == phase, timeout, phase)


def open_task(page: Page, gateway: Gateway, namespace: str, name: str) -> None:
    open_dashboard(page, gateway.url, f"#/task/{namespace}/{name}", gateway.key)
    expect(page.locator("h1")).to_have_text(name)


def test_a_succeeded_task(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    axe_source: str,
) -> None:
    create_task(
        gateway, op_namespace, name="done", labels={"team": "search"},
        command=counting(3, 0.1, {"documents": 3}), params={"documents": 3},
    )  # fmt: skip
    wait_phase(gateway, op_namespace, "done", "Succeeded")
    open_task(page, gateway, op_namespace, "done")
    expect(page.locator(".live-header .badge")).to_have_text("Succeeded")
    expect(page.locator(".big-progress .bar")).to_have_attribute("data-progress", "100")
    expect(page.locator("#result")).to_contain_text('"documents": 3')
    expect(page.locator("#params")).to_contain_text('"documents": 3')
    expect(page.locator("dl.details")).to_contain_text("team=search")
    attempts = page.locator(".attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_contain_text("Succeeded")
    expect(attempts.first.locator("td").nth(3)).to_have_text("0")  # exit code
    expect(page.locator("#log .line")).to_have_count(3)
    expect(page.locator("#log .line").first.locator("time")).to_have_text(
        re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$")
    )
    expect(page.locator(".kube-events")).to_contain_text("Completed")
    expect(page.locator(".conditions")).to_contain_text("Succeeded")
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#retry")).to_be_hidden()
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "task-succeeded")


def test_a_failed_task_shows_every_attempt_and_exit_code(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    axe_source: str,
) -> None:
    command = ["sh", "-c", 'echo "attempt $LONGTASK_ATTEMPT"; echo "no input" >&2; exit 1']
    retry = {"maxAttempts": 2, "backoff": {"initialSeconds": 0.5, "jitter": False}}
    create_task(gateway, op_namespace, name="broken", command=command, retry=retry)
    wait_phase(gateway, op_namespace, "broken", "Failed")
    open_task(page, gateway, op_namespace, "broken")
    expect(page.locator(".live-header .badge")).to_have_text("Failed")
    rows = page.locator(".attempts tbody tr")
    expect(rows).to_have_count(2)
    for number in (0, 1):
        cells = rows.nth(number).locator("td")
        expect(cells.nth(0)).to_have_text(str(number + 1))
        expect(cells.nth(1)).to_have_text("Failed")
        expect(cells.nth(2)).to_have_text("AttemptFailed")
        expect(cells.nth(3)).to_have_text("1")
    expect(page.locator("dl.details")).to_contain_text("AttemptsExhausted")
    expect(page.locator("#log .attempt-sep")).to_have_text(["Attempt 1", "Attempt 2"])
    expect(page.locator("#log")).to_contain_text("attempt 2")
    expect(page.locator(".kube-events")).to_contain_text("Backoff")
    expect(page.locator("#retry")).to_be_visible()
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "task-failed")


def log_position(page: Page) -> dict[str, float]:
    """The log's scroll position, its end, and how many lines it shows."""
    found: dict[str, float] = page.locator("#log").evaluate(
        "log => ({top: log.scrollTop, bottom: log.scrollHeight - log.clientHeight,"
        " lines: log.querySelectorAll('.line').length})"
    )
    return found


def test_a_running_task_moves_and_its_log_follows(
    page: Page,
    gateway: Gateway,
    operator_proc: OperatorProcess,
    op_namespace: str,
    axe_source: str,
) -> None:
    create_task(gateway, op_namespace, name="busy", command=counting(400, 0.15))
    wait_phase(gateway, op_namespace, "busy", "Running")
    open_task(page, gateway, op_namespace, "busy")
    bar = page.locator(".big-progress .bar")
    expect(bar).not_to_have_attribute("data-progress", "0")
    first = float(bar.get_attribute("data-progress") or 0)
    wait_for(
        lambda: float(bar.get_attribute("data-progress") or 0) >= first + 3, 30, "the bar moves"
    )
    expect(page.locator("#task-timing")).to_contain_text("ETA")
    expect(page.locator("#task-message")).to_contain_text("step")

    # Following: as lines arrive, the log stays scrolled to its end.
    wait_for(lambda: log_position(page)["lines"] > 40, 60, "enough lines to scroll")
    wait_for(lambda: (p := log_position(page))["top"] >= p["bottom"] - 2, 10, "at the end")
    assert page.locator("#log").get_attribute("data-following") == "true"
    assert accessibility_violations(page, axe_source) == []
    screenshot(page, "task-running")

    # Scrolled up, the reader stays where they are while lines keep coming.
    page.locator("#log").evaluate("log => { log.scrollTop = 0; }")
    expect(page.locator("#log")).to_have_attribute("data-following", "false")
    lines = log_position(page)["lines"]
    wait_for(lambda: log_position(page)["lines"] > lines + 3, 30, "more lines")
    assert log_position(page)["top"] == 0
    expect(page.locator("#log-latest")).to_be_visible()
    page.click("#log-latest")
    expect(page.locator("#log")).to_have_attribute("data-following", "true")
    wait_for(lambda: (p := log_position(page))["top"] >= p["bottom"] - 2, 10, "back at the end")
    with gateway.client() as http:
        http.post(f"/v1/namespaces/{op_namespace}/tasks/busy/cancel")


def test_cancel_asks_first_then_retry_reruns(
    page: Page, gateway: Gateway, operator_proc: OperatorProcess, op_namespace: str
) -> None:
    create_task(gateway, op_namespace, name="stoppable", command=counting(600, 0.2))
    wait_phase(gateway, op_namespace, "stoppable", "Running")
    open_task(page, gateway, op_namespace, "stoppable")
    page.click("#cancel")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Cancel stoppable?")
    expect(page.locator("#confirm-no")).to_be_focused()  # the safe answer is the default
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert get_task(gateway, op_namespace, "stoppable")["cancelRequested"] is False

    page.click("#cancel")
    page.click("#confirm-yes")
    expect(page.locator(".live-header .badge")).to_have_text("Cancelled", timeout=60_000)
    expect(page.locator(".attempts tbody tr").first).to_contain_text("Cancelled")
    page.click("#retry")
    expect(page.locator("h1")).to_have_text(re.compile(r"^stoppable-retry-"), timeout=10_000)
    expect(page.locator("dl.details")).to_contain_text("stoppable")
    rerun = page.locator("h1").inner_text()
    assert get_task(gateway, op_namespace, rerun)["retryOf"] == "stoppable"
    with gateway.client() as http:
        http.post(f"/v1/namespaces/{op_namespace}/tasks/{rerun}/cancel")


def test_a_large_result_and_a_timeout(
    page: Page, gateway: Gateway, operator_proc: OperatorProcess, op_namespace: str
) -> None:
    # A result of about 36 KiB: too large for the status, kept in Redis.
    program = "import json; print('::result ' + json.dumps(['row %05d' % i for i in range(3000)]))"
    create_task(gateway, op_namespace, name="big", command=["python3", "-c", program])
    create_task(
        gateway, op_namespace, name="slow", command=["sleep", "60"],
        timeoutSeconds=2, retry={"maxAttempts": 1},
    )  # fmt: skip
    wait_phase(gateway, op_namespace, "big", "Succeeded")
    assert get_task(gateway, op_namespace, "big")["resultRef"]
    open_task(page, gateway, op_namespace, "big")
    expect(page.locator("#result")).to_contain_text("row 02999")
    expect(page.locator(".card", has_text="A large result")).to_be_visible()

    wait_phase(gateway, op_namespace, "slow", "Failed")
    open_task(page, gateway, op_namespace, "slow")
    expect(page.locator("#task-message")).to_have_text(
        "attempt 1 timed out after 2s (DeadlineExceeded)"
    )
    expect(page.locator(".attempts tbody tr").first).to_contain_text("DeadlineExceeded")
