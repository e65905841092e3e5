"""Regression: /docs and /redoc work with no network but the gateway (they loaded their scripts
from a CDN: a blank page in an air-gapped cluster)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from playwright.sync_api import Page, Route, expect

from tests.fixtures.browser import Console
from tests.fixtures.gateway import Gateway


def offline(page: Page, gateway: Gateway) -> list[str]:
    """Abort every request to another host, as an air-gapped cluster would; the aborted URLs."""
    aborted: list[str] = []
    host = urlparse(gateway.url).netloc

    def route(r: Route) -> None:
        if urlparse(r.request.url).netloc == host:
            r.continue_()
        else:
            aborted.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return aborted


def test_docs_pages_reference_only_the_gateway(gateway: Gateway) -> None:
    with gateway.client() as http:
        for path in ("/docs", "/redoc"):
            html = http.get(path).text
            sources = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert sources and all(s.startswith("/") for s in sources), sources
            for source in sources:
                assert http.get(source).status_code == 200, source


def test_swagger_ui_renders_offline(page: Page, gateway: Gateway) -> None:
    aborted = offline(page, gateway)
    page.goto(f"{gateway.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("longtask gateway")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert aborted == []


def test_redoc_renders_offline(page: Page, gateway: Gateway, console: Console) -> None:
    console.allow(r"Failed to load resource: .*/logo-mini\.svg")  # the aborted logo, below
    aborted = offline(page, gateway)
    page.goto(f"{gateway.url}/redoc")
    expect(page.locator("h1").first).to_contain_text("longtask gateway")
    expect(page.locator("h2", has_text="Submit a task")).to_be_visible()
    # ReDoc's own footer links its logo on its CDN: a decorative image, nothing the page needs.
    assert all(url.endswith("/logo-mini.svg") for url in aborted), aborted
