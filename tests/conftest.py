"""Test configuration: markers by folder and the shared fixtures (registered as plugins).

Tests under tests/integration, tests/e2e and tests/drills need the local stack (a real control
plane, the local node and Redis) and are marked `integration`; everything else is a unit test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.stack",
    "tests.fixtures.packaging",
    "tests.fixtures.gateway",
    "tests.fixtures.browser",
    "tests.fixtures.operator",
    "tests.fixtures.runner",
    "tests.fixtures.history",
]

STACK_FOLDERS = {"integration", "e2e", "drills"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if STACK_FOLDERS & set(Path(str(item.path)).parts):
            item.add_marker(pytest.mark.integration)
