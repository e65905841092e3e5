"""The dashboard's documentation keeps up with its views: every view registered in `app.js`
has its row in api/README.md's table of views, and every screenshot a browser test takes is in
docs/screenshots and linked from the README (one picture of each page)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
STATIC = REPO / "api" / "longtask" / "api" / "static"


def registered_views() -> list[str]:
    app = (STATIC / "app.js").read_text()
    modules = dict(re.findall(r'import (\w+) from "\./views/(\w+)\.js";', app))
    ids = []
    for name in re.findall(r"^register\((\w+)\);", app, re.MULTILINE):
        source = (STATIC / "views" / f"{modules[name]}.js").read_text()
        ids += re.findall(r'^\s+id: "([\w-]+)",', source, re.MULTILINE)[:1]
    return ids


def screenshots_taken() -> set[str]:
    tests = (REPO / "tests" / "integration" / "dashboard").glob("test_*.py")
    return {n for t in tests for n in re.findall(r'screenshot\(page, "([\w-]+)"\)', t.read_text())}


def test_every_registered_view_has_its_row_in_the_gateway_readme() -> None:
    views = registered_views()
    assert {"overview", "tasks", "task"} <= set(views)
    readme = (REPO / "api" / "README.md").read_text()
    rows = set(re.findall(r"^\| ([\w ]+) \| `#/", readme, re.MULTILINE))
    assert set(views) <= rows, sorted(set(views) - rows)


def test_every_screenshot_of_the_browser_tests_is_in_the_docs_and_linked_from_the_readme() -> None:
    taken = screenshots_taken()
    assert {"overview", "tasks", "task-running"} <= taken
    readme = (REPO / "README.md").read_text()
    for name in sorted(taken):
        assert (REPO / "docs" / "screenshots" / f"{name}.png").is_file(), name
        assert f"(docs/screenshots/{name}.png)" in readme, name
